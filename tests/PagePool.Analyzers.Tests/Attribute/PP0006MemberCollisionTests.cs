using System.Threading.Tasks;
using PagePool.Analyzers.Attribute;
using static PagePool.Analyzers.Tests.Attribute.AttributeVerifier;

namespace PagePool.Analyzers.Tests.Attribute;

public sealed class PP0006MemberCollisionTests
{
    private const string Pool = "[PagePool(4096, 1024)] partial class RxQueue\n{\n";

    public static TheoryData<string> MustWarn => new()
    {
        Pool + "    public const int {|PP0006:PageSize|} = 4096;\n}",
        Pool + "    public int {|PP0006:PageSize|} => 4096;\n}",
        Pool + "    private readonly int {|PP0006:PoolSize|};\n}",
        Pool + "    public Page {|PP0006:AllocPage|}() => default;\n}",
        Pool + "    public Page {|PP0006:AllocPage|}(int hint) => default;\n}",                      // any overload
        Pool + "    public bool {|PP0006:TryAllocPage|}(out Page page) { page = default; return false; }\n}",
        Pool + "    private int[] {|PP0006:AllocPages|} = new int[1];\n}",
        Pool + "    public void {|PP0006:RecyclePage|}(Page page) { }\n}",
        Pool + "    public void {|PP0006:RecyclePageDirect|}(Page page) { }\n}",
        Pool + "    public void {|PP0006:RecyclePages|}(ReadOnlySpan<Page> pages) { }\n}",
        Pool + "    public int {|PP0006:PagesInUse|} { get; set; }\n}",
        Pool + "    public PagePoolStats {|PP0006:GetPageStats|}() => default;\n}",
        Pool + "    public void {|PP0006:DestroyPagePool|}() { }\n}",
        Pool + "    public object? {|PP0006:AsMemoryPool|}() => null;\n}",
        Pool + "    public event Action? {|PP0006:RecyclePage|};\n}",
        Pool + "    private sealed class {|PP0006:PagesInUse|} { }\n}",
        Pool + "    private int {|PP0006:PageSize|}, {|PP0006:PoolSize|};\n}",
        // a hook name used by something that is not a partial method
        Pool + "    void {|PP0006:OnPageCreated|}(Page page) { }\n}",
        Pool + "    private int {|PP0006:OnPageReleased|};\n}",
        // members the generator adds only when a feature is on
        "[PagePool(4096, 1024, Fragments = true)] partial class RxQueue { public Page {|PP0006:AllocFragment|}(int size) => default; }",
        "[PagePool(4096, 1024, LeakTracking = PageLeakTracking.Sampled)] partial class RxQueue { public string {|PP0006:GetPageLeaks|}() => \"\"; }",
        "[PagePool(4096, 1024, LeakTracking = PageLeakTracking.All)] partial class RxQueue { int {|PP0006:GetPageLeaks|}; }",
        // the generator's private members' prefix
        Pool + "    private object? {|PP0006:__pp_cache|};\n}",
        Pool + "    private sealed class {|PP0006:__pp_Ring|} { }\n}",
        // the class itself named like a generated member (a member may not share its class's name)
        "[PagePool(4096, 1024)] partial class {|PP0006:PagesInUse|} { }",
        // in a record class, including a positional property
        "[PagePool(4096, 1024)] sealed partial record RxQueue(int {|PP0006:PoolSize|});",
    };

    public static TheoryData<string> MustNotWarn => new()
    {
        // the optional constants: the generator leaves each out when the class declares that name itself
        Pool + "    public int Headroom => 0;\n}",
        Pool + "    private readonly int MaxLength = 1500;\n}",
        Pool + "    private const int CacheSize = 64;\n}",
        Pool + "    public int RefillBatch() => 8;\n}",
        // AllocFragment and GetPageLeaks are free when their feature is off
        Pool + "    public Page AllocFragment(int size) => default;\n}",
        "[PagePool(4096, 1024, Fragments = false)] partial class RxQueue { public Page AllocFragment(int size) => default; }",
        Pool + "    public string GetPageLeaks() => \"\";\n}",
        "[PagePool(4096, 1024, LeakTracking = PageLeakTracking.Off)] partial class RxQueue { public string GetPageLeaks() => \"\"; }",
        // names that only look alike
        Pool + "    public Page AllocPageBuffer() => default;\n    int pageSize;\n    int _poolSize;\n    void Recycle(Page page) { }\n}",
        // the names used where they do not become members of the class
        Pool + "    void Poll(int PageSize) { Page AllocPage() => default; var RecyclePage = 1; _ = RecyclePage + PageSize; _ = AllocPage(); }\n}",
        Pool + "    private sealed class Ring { public int PoolSize; public void RecyclePage(Page page) { } }\n}",
        // a base class's members are not the class's own
        "class Base { public int PageSize => 1; public void RecyclePage(Page page) { } }\n[PagePool(4096, 1024)] partial class RxQueue : Base { }",
        // a class without [PagePool] may use every name
        "partial class RxQueue { public int PageSize; public Page AllocPage() => default; public void RecyclePage(Page p) { } }",
        // explicit interface implementation names are not the class's member names
        "interface IPool { int PagesInUse { get; } }\n[PagePool(4096, 1024)] partial class RxQueue : IPool { int IPool.PagesInUse => 0; }",
    };

    [Theory]
    [MemberData(nameof(MustWarn))]
    public Task Reports_a_member_the_generator_adds(string source) => VerifyAsync(source);

    [Theory]
    [MemberData(nameof(MustNotWarn))]
    public Task Accepts_members_that_do_not_collide(string source) => VerifyAsync(source);

    [Fact]
    public Task Reports_a_member_declared_in_another_part_of_the_class() =>
        VerifyAsync(new[]
        {
            "[PagePool(4096, 1024)] partial class RxQueue { }",
            "partial class RxQueue { public Page {|PP0006:AllocPage|}() => default; }",
        });

    [Fact]
    public Task Message_names_the_class_and_the_member() =>
        VerifyAsync(
            "namespace Driver;\n[PagePool(4096, 1024)] partial class RxQueue { public void {|#0:RecyclePage|}(Page page) { } }",
            Diagnostic(AttributeDescriptors.MemberCollision).WithLocation(0).WithArguments("RxQueue", "RecyclePage"));

    // What the generator's output looks like to the analyzer: its members and the hooks' defining declarations.
    private const string Generated = """
        partial class RxQueue
        {
            [System.CodeDom.Compiler.GeneratedCode("PagePool.Generators", "1.0.0")]
            public const int PageSize = 4096;
            [System.CodeDom.Compiler.GeneratedCode("PagePool.Generators", "1.0.0")]
            public Page AllocPage() => default;
            [System.CodeDom.Compiler.GeneratedCode("PagePool.Generators", "1.0.0")]
            public void RecyclePage(Page page) => OnPageReleased(page);
            partial void OnPageCreated(Page page);
            partial void OnPageReleased(Page page);
        }
        """;

    [Fact]
    public Task Generated_members_and_partial_hooks_are_not_collisions() =>
        VerifyWithGeneratedAsync(
            "[PagePool(4096, 1024)] partial class RxQueue\n{\n    partial void OnPageCreated(Page page) { }\n    partial void OnPageReleased(Page page) { }\n    void Poll() { var p = AllocPage(); RecyclePage(p); }\n}",
            Generated);

    [Fact]
    public Task A_user_member_beside_generated_ones_is_still_reported() =>
        VerifyWithGeneratedAsync(
            "[PagePool(4096, 1024)] partial class RxQueue\n{\n    partial void OnPageCreated(Page page) { }\n    public void {|PP0006:DestroyPagePool|}() { }\n}",
            Generated);

    // The generator writes the hooks' defining declarations: one written by the user would be a second one.
    [Fact]
    public Task Hook_definitions_written_by_the_user_are_collisions() =>
        VerifyAsync(
            "[PagePool(4096, 1024)] partial class RxQueue\n{\n    partial void {|PP0006:OnPageCreated|}(Page page);\n    partial void OnPageCreated(Page page) { }\n    partial void {|PP0006:OnPageReleased|}(Page page);\n}");

    [Fact]
    public Task A_hook_implementation_beside_the_generated_definition_is_the_users_to_write() =>
        VerifyWithGeneratedAsync(
            "[PagePool(4096, 1024)] partial class RxQueue\n{\n    partial void OnPageReleased(Page page) => System.Console.WriteLine(page.Id);\n}",
            Generated);

    // Roslyn itself does not treat this file as generated (no .g.cs name, no <auto-generated> header), so only the
    // analyzer's own recognition of the generator's output path keeps its members from being reported.
    [Fact]
    public Task Members_in_the_generators_output_path_are_the_generators() =>
        VerifyFilesAsync(new[]
        {
            ("/0/Test0.cs", "[PagePool(4096, 1024)] partial class RxQueue { }"),
            ("/0/PagePool.Generators/PagePool.Generators.PagePoolGenerator/RxQueue.cs", "partial class RxQueue { public Page AllocPage() => default; public const int PageSize = 4096; }"),
        });

    // (Roslyn also drops diagnostics on [GeneratedCode] members when generated code is not analyzed; the analyzer
    // checks the attribute itself so the answer does not depend on that setting.)
    [Fact]
    public Task Members_marked_GeneratedCode_by_PagePool_are_the_generators() =>
        VerifyFilesAsync(new[]
        {
            ("/0/Test0.cs", "[PagePool(4096, 1024)] partial class RxQueue { }"),
            ("/0/Pool.cs", "partial class RxQueue { [System.CodeDom.Compiler.GeneratedCode(\"PagePool.Generators\", \"1.0.0\")] public int PagesInUse => 0; }"),
        });

    [Fact]
    public Task A_user_file_whose_path_merely_mentions_the_generator_is_the_users() =>
        VerifyFilesAsync(new[]
        {
            ("/0/PagePool.Generators.Tests/RxQueue.cs", "[PagePool(4096, 1024)] partial class RxQueue { public void {|PP0006:RecyclePage|}(Page page) { } }"),
        });
}
