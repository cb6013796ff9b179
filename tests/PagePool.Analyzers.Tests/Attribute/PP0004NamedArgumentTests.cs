using System.Threading.Tasks;
using PagePool.Analyzers.Attribute;
using static PagePool.Analyzers.Tests.Attribute.AttributeVerifier;

namespace PagePool.Analyzers.Tests.Attribute;

public sealed class PP0004NamedArgumentTests
{
    public static TheoryData<string> MustWarn => new()
    {
        // CacheSize: 1..4096
        "[PagePool(4096, 1024, {|PP0004:CacheSize = 0|})] partial class RxQueue { }",
        "[PagePool(4096, 1024, {|PP0004:CacheSize = -1|})] partial class RxQueue { }",
        "[PagePool(4096, 1024, {|PP0004:CacheSize = 4097|})] partial class RxQueue { }",
        // RefillBatch: 1..CacheSize
        "[PagePool(4096, 1024, {|PP0004:RefillBatch = 0|})] partial class RxQueue { }",
        "[PagePool(4096, 1024, {|PP0004:RefillBatch = -5|})] partial class RxQueue { }",
        "[PagePool(4096, 1024, CacheSize = 32, {|PP0004:RefillBatch = 33|})] partial class RxQueue { }",
        "[PagePool(4096, 1024, {|PP0004:RefillBatch = 129|})] partial class RxQueue { }",          // default CacheSize 128
        // the default RefillBatch (64) against a small CacheSize: reported on CacheSize, the argument written
        "[PagePool(4096, 1024, {|PP0004:CacheSize = 32|})] partial class RxQueue { }",
        // Headroom: 0..pageSize - 1
        "[PagePool(4096, 1024, {|PP0004:Headroom = -1|})] partial class RxQueue { }",
        "[PagePool(4096, 1024, {|PP0004:Headroom = 4096|})] partial class RxQueue { }",
        "[PagePool(256, 1024, {|PP0004:Headroom = 300|})] partial class RxQueue { }",
        // MaxLength: 0..pageSize - Headroom
        "[PagePool(4096, 1024, {|PP0004:MaxLength = -1|})] partial class RxQueue { }",
        "[PagePool(4096, 1024, {|PP0004:MaxLength = 4097|})] partial class RxQueue { }",
        "[PagePool(4096, 1024, Headroom = 256, {|PP0004:MaxLength = 3841|})] partial class RxQueue { }",
        "[PagePool(2048, 1024, {|PP0004:MaxLength = 2049|}, Headroom = 0)] partial class RxQueue { }",
        // the first error in rule order: CacheSize before Headroom
        "[PagePool(4096, 1024, Headroom = 5000, {|PP0004:CacheSize = 0|})] partial class RxQueue { }",
        // with the other named arguments present
        "[PagePool(4096, 1024, Memory = PageMemoryKind.Native, Fragments = true, {|PP0004:CacheSize = 10000|}, LeakTracking = PageLeakTracking.All)] partial class RxQueue { }",
    };

    public static TheoryData<string> MustNotWarn => new()
    {
        "[PagePool(4096, 1024, CacheSize = 64)] partial class RxQueue { }",       // RefillBatch 64 = CacheSize
        "[PagePool(4096, 1024, CacheSize = 1, RefillBatch = 1)] partial class RxQueue { }",
        "[PagePool(4096, 1024, CacheSize = 4096, RefillBatch = 4096)] partial class RxQueue { }",
        "[PagePool(4096, 1024, CacheSize = 256, RefillBatch = 128)] partial class RxQueue { }",
        "[PagePool(4096, 1024, RefillBatch = 128)] partial class RxQueue { }",    // = the default CacheSize
        "[PagePool(4096, 1024, Headroom = 0)] partial class RxQueue { }",
        "[PagePool(4096, 1024, Headroom = 4095)] partial class RxQueue { }",
        "[PagePool(256, 1024, Headroom = 255, MaxLength = 1)] partial class RxQueue { }",
        "[PagePool(4096, 1024, Headroom = 256, MaxLength = 3840)] partial class RxQueue { }", // exactly pageSize - Headroom
        "[PagePool(4096, 1024, Headroom = 256, MaxLength = 0)] partial class RxQueue { }",    // 0: the rest of the page
        "[PagePool(4096, 1024, MaxLength = 4096)] partial class RxQueue { }",
        "[PagePool(4096, 1024, MaxLength = 1500)] partial class RxQueue { }",
        "[PagePool(4096, 1024, Memory = PageMemoryKind.HugePages, CacheSize = 128, RefillBatch = 64, Headroom = 256,\n MaxLength = 2048, ClearOnRecycle = true, Fragments = true, LeakTracking = PageLeakTracking.Sampled)] partial class RxQueue { }",
        "[PagePool(2097152, 4, CacheSize = 4, RefillBatch = 2, Headroom = 2097151)] partial class RxQueue { }",
    };

    [Theory]
    [MemberData(nameof(MustWarn))]
    public Task Reports_an_invalid_named_argument_on_the_argument(string source) => VerifyAsync(source);

    [Theory]
    [MemberData(nameof(MustNotWarn))]
    public Task Accepts_consistent_named_arguments(string source) => VerifyAsync(source);

    [Theory]
    [InlineData("CacheSize = 0", "CacheSize is 0; it must be from 1 to 4096")]
    [InlineData("CacheSize = 32, RefillBatch = 33", "RefillBatch is 33; it must be from 1 to CacheSize (32)")]
    [InlineData("Headroom = 4096", "Headroom is 4096; it must be from 0 to less than pageSize (4096)")]
    [InlineData("Headroom = 256, MaxLength = 3841", "MaxLength is 3841; it must be from 0 (the rest of the page) to pageSize - Headroom (3840)")]
    public Task Message_comes_from_the_shared_rules(string arguments, string message)
    {
        // Mark the argument the rule is about: the last one written.
        int split = arguments.LastIndexOf(", ", System.StringComparison.Ordinal);
        string marked = split < 0
            ? "{|#0:" + arguments + "|}"
            : arguments.Substring(0, split + 2) + "{|#0:" + arguments.Substring(split + 2) + "|}";
        return VerifyAsync(
            "[PagePool(4096, 1024, " + marked + ")] partial class RxQueue { }",
            Diagnostic(AttributeDescriptors.InvalidNamedArgument).WithLocation(0).WithArguments(message));
    }

    [Fact]
    public Task Non_constant_named_argument_is_left_to_the_compiler() =>
        VerifyAsync(
            "static class Sizes { public static int Cache = 0; }\n[PagePool(4096, 1024, CacheSize = {|CS0182:Sizes.Cache|})] partial class RxQueue { }");
}
