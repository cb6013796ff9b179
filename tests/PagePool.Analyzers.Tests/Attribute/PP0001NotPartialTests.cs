using System.Threading.Tasks;
using PagePool.Analyzers.Attribute;
using static PagePool.Analyzers.Tests.Attribute.AttributeVerifier;

namespace PagePool.Analyzers.Tests.Attribute;

public sealed class PP0001NotPartialTests
{
    public static TheoryData<string> MustWarn => new()
    {
        // global namespace, no modifiers
        "[PagePool(4096, 1024)] class {|PP0001:RxQueue|} { }",
        // the usual modifiers, but not partial
        "[PagePool(4096, 1024)]\ninternal sealed class {|PP0001:RxQueue|} { }",
        // file-scoped namespace
        "namespace Driver;\n[PagePool(4096, 1024)] public sealed class {|PP0001:RxQueue|} { }",
        // block namespace
        "namespace Driver { [PagePool(4096, 1024)] public class {|PP0001:RxQueue|} { } }",
        // nested: the class is not partial, its container is
        "partial class Nic { [PagePool(4096, 1024)] class {|PP0001:RxQueue|} { } }",
        // nested: the class is partial, its container is not
        "class Nic { [PagePool(4096, 1024)] partial class {|PP0001:RxQueue|} { } }",
        // a chain of three missing the middle partial
        "namespace Driver { partial class Nic { class Port { [PagePool(2048, 64)] partial class {|PP0001:RxQueue|} { } } } }",
        // record class
        "[PagePool(4096, 1024)] sealed record class {|PP0001:RxQueue|}(int Id);",
        "[PagePool(4096, 1024)] record {|PP0001:RxQueue|} { }",
        // containers of other kinds
        "struct Nic { [PagePool(4096, 1024)] partial class {|PP0001:RxQueue|} { } }",
        "record Nic { [PagePool(4096, 1024)] partial class {|PP0001:RxQueue|} { } }",
        "interface INic { [PagePool(4096, 1024)] partial class {|PP0001:RxQueue|} { } }",
        // abstract, with base type and interfaces
        "[PagePool(4096, 1024)] abstract class {|PP0001:RxQueue|} : System.IDisposable { public void Dispose() { } }",
        // the attribute written with its full name
        "[global::PagePool.PagePoolAttribute(4096, 1024)] class {|PP0001:RxQueue|} { }",
    };

    public static TheoryData<string> MustNotWarn => new()
    {
        "[PagePool(4096, 1024)] partial class RxQueue { }",
        "[PagePool(4096, 1024)]\ninternal sealed partial class RxQueue { }",
        "namespace Driver;\n[PagePool(4096, 1024)] public sealed partial class RxQueue { }",
        "namespace Driver { [PagePool(4096, 1024)] public partial class RxQueue { } }",
        "partial class Nic { [PagePool(4096, 1024)] partial class RxQueue { } }",
        "namespace Driver { partial class Nic { partial class Port { [PagePool(2048, 64)] partial class RxQueue { } } } }",
        "[PagePool(4096, 1024)] sealed partial record class RxQueue(int Id);",
        "partial struct Nic { [PagePool(4096, 1024)] partial class RxQueue { } }",
        "partial record struct Nic { [PagePool(4096, 1024)] partial class RxQueue { } }",
        "partial interface INic { [PagePool(4096, 1024)] partial class RxQueue { } }",
        // split across two declarations, the attribute on one
        "[PagePool(4096, 1024)] partial class RxQueue { } partial class RxQueue { int _x; }",
        // no [PagePool]: nothing to generate into
        "class RxQueue { } class Nic { class Port { } }",
        // an unrelated attribute that happens to be named PagePool
        "namespace Other { sealed class PagePoolAttribute : System.Attribute { public PagePoolAttribute(int a, int b) { } } }\n[Other.PagePool(1, 2)] class RxQueue { }",
        // on a struct the compiler reports CS0592 and the analyzer stays out of it
        "[{|CS0592:PagePool|}(4096, 1024)] struct RxQueue { }",
    };

    [Theory]
    [MemberData(nameof(MustWarn))]
    public Task Reports_a_class_or_container_that_is_not_partial(string source) => VerifyAsync(source);

    [Theory]
    [MemberData(nameof(MustNotWarn))]
    public Task Accepts_a_partial_chain(string source) => VerifyAsync(source);

    [Fact]
    public Task Message_names_the_class_itself() =>
        VerifyAsync(
            "[PagePool(4096, 1024)] class {|#0:RxQueue|} { }",
            Diagnostic(AttributeDescriptors.NotPartial).WithLocation(0).WithArguments("RxQueue", "'RxQueue' is"));

    [Fact]
    public Task Message_names_every_container_missing_partial_outermost_first() =>
        VerifyAsync(
            "class Nic { class Port { [PagePool(4096, 1024)] class {|#0:RxQueue|} { } } }",
            Diagnostic(AttributeDescriptors.NotPartial).WithLocation(0).WithArguments("RxQueue", "'Nic', 'Port' and 'RxQueue' are"));

    [Fact]
    public Task Message_names_only_the_container_when_the_class_is_partial() =>
        VerifyAsync(
            "class Nic { [PagePool(4096, 1024)] partial class {|#0:RxQueue|} { } }",
            Diagnostic(AttributeDescriptors.NotPartial).WithLocation(0).WithArguments("RxQueue", "'Nic' is"));
}
