using System.Threading.Tasks;
using PagePool.Analyzers.Attribute;
using static PagePool.Analyzers.Tests.Attribute.AttributeVerifier;

namespace PagePool.Analyzers.Tests.Attribute;

public sealed class PP0003PoolSizeTests
{
    public static TheoryData<string> MustWarn => new()
    {
        "[PagePool(4096, {|PP0003:0|})] partial class RxQueue { }",
        "[PagePool(4096, {|PP0003:-1|})] partial class RxQueue { }",
        "[PagePool(4096, {|PP0003:-1024|})] partial class RxQueue { }",
        "[PagePool(4096, {|PP0003:1048577|})] partial class RxQueue { }",
        "[PagePool(4096, {|PP0003:2_000_000|})] partial class RxQueue { }",
        "[PagePool(4096, {|PP0003:int.MaxValue|})] partial class RxQueue { }",
        "[PagePool(4096, {|PP0003:int.MinValue|})] partial class RxQueue { }",
        "[PagePool(4096, {|PP0003:1 << 21|})] partial class RxQueue { }",
        "[PagePool(4096, {|PP0003:poolSize: 0|})] partial class RxQueue { }",
        "[PagePool({|PP0003:poolSize: 0|}, pageSize: 4096)] partial class RxQueue { }", // out of order
        "static class Sizes { public const int Pool = -8; }\n[PagePool(4096, {|PP0003:Sizes.Pool|})] partial class RxQueue { }",
        "[PagePool(4096, {|PP0003:PagePoolDefaults.MaxPoolSize + 1|})] partial class RxQueue { }",
        // with invalid named arguments too: poolSize comes first
        "[PagePool(4096, {|PP0003:0|}, CacheSize = 0)] partial class RxQueue { }",
    };

    public static TheoryData<string> MustNotWarn => new()
    {
        "[PagePool(4096, 1)] partial class RxQueue { }",
        "[PagePool(4096, 2)] partial class RxQueue { }",
        "[PagePool(4096, 64)] partial class RxQueue { }",
        "[PagePool(4096, 1024)] partial class RxQueue { }",
        "[PagePool(4096, 65536)] partial class RxQueue { }",
        "[PagePool(4096, 1048576)] partial class RxQueue { }",
        "[PagePool(4096, 1 << 20)] partial class RxQueue { }",
        "[PagePool(4096, PagePoolDefaults.MaxPoolSize)] partial class RxQueue { }",
        "[PagePool(poolSize: 3, pageSize: 4096)] partial class RxQueue { }",
        "static class Sizes { public const int Pool = 777; }\n[PagePool(4096, Sizes.Pool)] partial class RxQueue { }",
        "[PagePool(4096, 1000 + 24)] partial class RxQueue { }",
    };

    [Theory]
    [MemberData(nameof(MustWarn))]
    public Task Reports_an_invalid_pool_size_on_its_argument(string source) => VerifyAsync(source);

    [Theory]
    [MemberData(nameof(MustNotWarn))]
    public Task Accepts_1_to_1048576_pages(string source) => VerifyAsync(source);

    [Fact]
    public Task Message_comes_from_the_shared_rules() =>
        VerifyAsync(
            "[PagePool(4096, {|#0:0|})] partial class RxQueue { }",
            Diagnostic(AttributeDescriptors.InvalidPoolSize).WithLocation(0).WithArguments("poolSize is 0; it must be from 1 to 1048576"));
}
