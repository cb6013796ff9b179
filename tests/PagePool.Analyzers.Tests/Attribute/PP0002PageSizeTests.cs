using System.Threading.Tasks;
using PagePool.Analyzers.Attribute;
using static PagePool.Analyzers.Tests.Attribute.AttributeVerifier;

namespace PagePool.Analyzers.Tests.Attribute;

public sealed class PP0002PageSizeTests
{
    public static TheoryData<string> MustWarn => new()
    {
        "[PagePool({|PP0002:0|}, 1024)] partial class RxQueue { }",
        "[PagePool({|PP0002:-4096|}, 1024)] partial class RxQueue { }",
        "[PagePool({|PP0002:1|}, 1024)] partial class RxQueue { }",
        "[PagePool({|PP0002:128|}, 1024)] partial class RxQueue { }",        // a power of two below 256
        "[PagePool({|PP0002:255|}, 1024)] partial class RxQueue { }",
        "[PagePool({|PP0002:4000|}, 1024)] partial class RxQueue { }",       // not a power of two
        "[PagePool({|PP0002:4097|}, 1024)] partial class RxQueue { }",
        "[PagePool({|PP0002:3 * 1024|}, 1024)] partial class RxQueue { }",
        "[PagePool({|PP0002:4194304|}, 1024)] partial class RxQueue { }",    // 4 MiB: a power of two above 2 MiB
        "[PagePool({|PP0002:2097153|}, 1024)] partial class RxQueue { }",
        "[PagePool({|PP0002:int.MaxValue|}, 1024)] partial class RxQueue { }",
        "[PagePool({|PP0002:int.MinValue|}, 1024)] partial class RxQueue { }",
        "[PagePool({|PP0002:pageSize: 1000|}, poolSize: 1024)] partial class RxQueue { }",
        "[PagePool(poolSize: 1024, {|PP0002:pageSize: 1000|})] partial class RxQueue { }", // out of order
        "static class Sizes { public const int Page = 1500; }\n[PagePool({|PP0002:Sizes.Page|}, 1024)] partial class RxQueue { }",
        // with an invalid poolSize too: the rules report the first error, pageSize
        "[PagePool({|PP0002:100|}, 0)] partial class RxQueue { }",
        // with invalid named arguments too
        "[PagePool({|PP0002:100|}, 64, CacheSize = 0)] partial class RxQueue { }",
    };

    public static TheoryData<string> MustNotWarn => new()
    {
        "[PagePool(256, 1024)] partial class RxQueue { }",
        "[PagePool(512, 1024)] partial class RxQueue { }",
        "[PagePool(1024, 1024)] partial class RxQueue { }",
        "[PagePool(2048, 1024)] partial class RxQueue { }",
        "[PagePool(4096, 1024)] partial class RxQueue { }",
        "[PagePool(65536, 16)] partial class RxQueue { }",
        "[PagePool(1 << 20, 16)] partial class RxQueue { }",
        "[PagePool(2097152, 16)] partial class RxQueue { }",
        "[PagePool(4 * 1024, 1024)] partial class RxQueue { }",
        "[PagePool(PagePoolDefaults.MinPageSize, 1)] partial class RxQueue { }",
        "[PagePool(PagePoolDefaults.MaxPageSize, 1)] partial class RxQueue { }",
        "[PagePool(poolSize: 8, pageSize: 8192)] partial class RxQueue { }",
        "static class Sizes { public const int Page = 16384; }\n[PagePool(Sizes.Page, 1024)] partial class RxQueue { }",
        // an invalid size on a class without the real attribute
        "namespace Other { sealed class PagePoolAttribute : System.Attribute { public PagePoolAttribute(int a, int b) { } } }\n[Other.PagePool(3, 0)] partial class RxQueue { }",
    };

    [Theory]
    [MemberData(nameof(MustWarn))]
    public Task Reports_an_invalid_page_size_on_its_argument(string source) => VerifyAsync(source);

    [Theory]
    [MemberData(nameof(MustNotWarn))]
    public Task Accepts_powers_of_two_from_256_bytes_to_2_MiB(string source) => VerifyAsync(source);

    [Fact]
    public Task Message_comes_from_the_shared_rules() =>
        VerifyAsync(
            "[PagePool({|#0:4000|}, 1024)] partial class RxQueue { }",
            Diagnostic(AttributeDescriptors.InvalidPageSize).WithLocation(0)
                .WithArguments("pageSize is 4000; it must be a power of two from 256 to 2097152 (2 MiB)"));

    [Fact]
    public Task Non_constant_argument_is_left_to_the_compiler() =>
        VerifyAsync(
            "static class Sizes { public static int Page = 100; }\n[PagePool({|CS0182:Sizes.Page|}, 0)] partial class RxQueue { }");

    [Fact]
    public Task Missing_argument_is_left_to_the_compiler() =>
        VerifyAsync("[{|CS7036:PagePool(100)|}] partial class RxQueue { }");
}
