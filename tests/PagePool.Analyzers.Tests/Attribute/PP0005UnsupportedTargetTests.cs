using System.Threading.Tasks;
using PagePool.Analyzers.Attribute;
using static PagePool.Analyzers.Tests.Attribute.AttributeVerifier;

namespace PagePool.Analyzers.Tests.Attribute;

public sealed class PP0005UnsupportedTargetTests
{
    public static TheoryData<string> MustWarn => new()
    {
        "[PagePool(4096, 1024)] static partial class {|PP0005:RxQueue|} { }",
        "namespace Driver;\n[PagePool(4096, 1024)] public static partial class {|PP0005:RxQueue|} { }",
        "namespace Driver { [PagePool(4096, 1024)] internal static partial class {|PP0005:RxQueue|} { } }",
        "[PagePool(4096, 1024)] partial class {|PP0005:RxQueue|}<T> { }",
        "[PagePool(4096, 1024)] partial class {|PP0005:RxQueue|}<TKey, TValue> where TKey : notnull { }",
        "[PagePool(4096, 1024)] sealed partial record class {|PP0005:RxQueue|}<T>(T State);",
        "partial class Nic<T> { [PagePool(4096, 1024)] partial class {|PP0005:RxQueue|} { } }",
        "partial class Nic<T> { partial class Port { [PagePool(4096, 1024)] partial class {|PP0005:RxQueue|} { } } }",
        "partial struct Nic<T> { [PagePool(4096, 1024)] partial class {|PP0005:RxQueue|} { } }",
        "partial record Nic<T> { [PagePool(4096, 1024)] partial class {|PP0005:RxQueue|} { } }",
        "partial interface INic<T> { [PagePool(4096, 1024)] partial class {|PP0005:RxQueue|} { } }",
        "partial class Nic { [PagePool(4096, 1024)] static partial class {|PP0005:RxQueue|} { } }",
        "partial class Nic<T> { [PagePool(4096, 1024)] partial class {|PP0005:RxQueue|}<U> { } }",
    };

    public static TheoryData<string> MustNotWarn => new()
    {
        "[PagePool(4096, 1024)] partial class RxQueue { }",
        "[PagePool(4096, 1024)] sealed partial class RxQueue { }",
        "[PagePool(4096, 1024)] abstract partial class RxQueue { }",
        "[PagePool(4096, 1024)] public partial class RxQueue { }",
        "partial class Nic { [PagePool(4096, 1024)] partial class RxQueue { } }",
        "partial class Nic { partial class Port { [PagePool(4096, 1024)] private sealed partial class RxQueue { } } }",
        "[PagePool(4096, 1024)] partial class RxQueue { T Echo<T>(T value) => value; }",              // generic method
        "[PagePool(4096, 1024)] partial class RxQueue : System.Collections.Generic.List<int> { }",  // generic base
        "[PagePool(4096, 1024)] partial class RxQueue : System.IEquatable<RxQueue> { public bool Equals(RxQueue? other) => false; }",
        "[PagePool(4096, 1024)] partial class RxQueue { sealed class Slot<T> { } }",                // contains a generic type
        "[PagePool(4096, 1024)] sealed partial record RxQueue(int Id);",
        "static partial class Registry { } [PagePool(4096, 1024)] partial class RxQueue { }",     // static, but no pool
        "partial class Nic<T> { } [PagePool(4096, 1024)] partial class RxQueue : Nic<int> { }",     // generic base, not nested
    };

    [Theory]
    [MemberData(nameof(MustWarn))]
    public Task Reports_static_generic_or_nested_in_generic(string source) => VerifyAsync(source);

    [Theory]
    [MemberData(nameof(MustNotWarn))]
    public Task Accepts_instance_non_generic_classes(string source) => VerifyAsync(source);

    [Theory]
    [InlineData("[PagePool(4096, 1024)] static partial class {|#0:RxQueue|} { }", "RxQueue", "it is static")]
    [InlineData("[PagePool(4096, 1024)] partial class {|#0:RxQueue|}<T> { }", "RxQueue<T>", "it is generic")]
    [InlineData("partial class Nic<T> { partial class Port { [PagePool(4096, 1024)] partial class {|#0:RxQueue|} { } } }", "RxQueue", "it is nested in the generic type 'Nic<T>'")]
    public Task Message_says_why(string source, string type, string reason) =>
        VerifyAsync(source, Diagnostic(AttributeDescriptors.UnsupportedTarget).WithLocation(0).WithArguments(type, reason));

    [Fact]
    public Task Not_partial_and_generic_reports_both() =>
        VerifyAsync("[PagePool(4096, 1024)] class {|PP0001:{|PP0005:RxQueue|}|}<T> { }");
}
