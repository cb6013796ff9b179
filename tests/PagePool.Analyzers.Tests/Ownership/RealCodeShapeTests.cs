using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>
/// Shapes found on real code that the analysis once got wrong: pinning an array with <c>fixed</c> (a use, not a
/// hand-on), a rent inside a conditional expression, the wording when no path returns the resource, and a double
/// return that happens only when a <c>Rent</c> throws.
/// </summary>
public sealed class RealCodeShapeTests
{
    public static TheoryData<string, string> MustWarn => new()
    {
        { "pinned, never returned", """
            unsafe void M() { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; fixed (byte* p = a) { p[0] = 1; } }
            """ },
        { "first element pinned, never returned", """
            unsafe int M() { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; fixed (byte* p = &a[0]) { return p[0]; } }
            """ },
        { "pinned, returned on one branch only", """
            unsafe void M(bool c) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; fixed (byte* p = a) { p[0] = 1; } if (c) ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "rent in a conditional expression of a declaration, never returned", """
            void M(int n) { byte[]? lease = null; Span<byte> b = n <= 128 ? stackalloc byte[128] : (lease = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}); b[0] = 1; }
            """ },
        { "rent in a conditional expression passed as an argument, never returned", """
            void M(int n) { byte[]? lease = null; Sink.Bytes(n <= 128 ? stackalloc byte[128] : (lease = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|})); }
            """ },
        { "rent in a conditional expression assigned to an existing span, never returned", """
            void M(int n) { byte[]? lease = null; scoped Span<byte> b; b = n <= 128 ? stackalloc byte[128] : (lease = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}); b[0] = 1; }
            """ },
        { "rent in a conditional expression, returned only when large", """
            void M(int n) { byte[]? lease = null; Span<byte> b = n <= 128 ? stackalloc byte[128] : (lease = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}); b[0] = 1; if (lease != null && n > 4096) ArrayPool<byte>.Shared.Return(lease); }
            """ },
        { "rent in a conditional expression returned from a local function's argument, never returned", """
            int M(int n) { byte[]? lease = null; return Length(n <= 128 ? stackalloc byte[128] : (lease = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|})); static int Length(Span<byte> b) => b.Length; }
            """ },
        { "returned then re-rented under a finally that returns", """
            void M(int need) { byte[] buffer = ArrayPool<byte>.Shared.Rent(16); try { if (need > buffer.Length) { ArrayPool<byte>.Shared.Return(buffer); buffer = ArrayPool<byte>.Shared.Rent(need); } Sink.Array(buffer); } finally { ArrayPool<byte>.Shared.Return({|PP1103:buffer|}); } }
            """ },
    };

    public static TheoryData<string, string> MustNotWarn => new()
    {
        { "pinned, then returned", """
            unsafe void M() { var a = ArrayPool<byte>.Shared.Rent(8); fixed (byte* p = a) { p[0] = 1; } ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "pinned inside try/finally", """
            unsafe void M() { var a = ArrayPool<byte>.Shared.Rent(8); try { fixed (byte* p = a) { Sink.Work(); } } finally { ArrayPool<byte>.Shared.Return(a); } }
            """ },
        { "first element pinned, then returned", """
            unsafe int M() { var a = ArrayPool<byte>.Shared.Rent(8); int v; fixed (byte* p = &a[0]) { v = p[0]; } ArrayPool<byte>.Shared.Return(a); return v; }
            """ },
        { "rent in a conditional expression of a declaration, returned if rented", """
            void M(int n) { byte[]? lease = null; Span<byte> b = n <= 128 ? stackalloc byte[128] : (lease = ArrayPool<byte>.Shared.Rent(n)); b[0] = 1; if (lease != null) ArrayPool<byte>.Shared.Return(lease); }
            """ },
        { "rent in a conditional expression passed as an argument, returned if rented", """
            void M(int n) { byte[]? lease = null; Sink.Bytes(n <= 128 ? stackalloc byte[128] : (lease = ArrayPool<byte>.Shared.Rent(n))); if (lease is not null) ArrayPool<byte>.Shared.Return(lease); }
            """ },
        { "rent in a conditional expression assigned to an existing span, returned if rented", """
            void M(int n) { byte[]? lease = null; scoped Span<byte> b; b = n <= 128 ? stackalloc byte[128] : (lease = ArrayPool<byte>.Shared.Rent(n)); b[0] = 1; if (lease != null) { ArrayPool<byte>.Shared.Return(lease); } }
            """ },
        { "rent in a conditional expression in a return statement's argument, returned by a finally", """
            int M(int n) { byte[]? lease = null; try { return Length(n <= 128 ? stackalloc byte[128] : (lease = ArrayPool<byte>.Shared.Rent(n))); } finally { if (lease != null) ArrayPool<byte>.Shared.Return(lease); } static int Length(Span<byte> b) => b.Length; }
            """ },
        { "re-rented with the old array returned after the new one is in hand", """
            void M(int need) { byte[] buffer = ArrayPool<byte>.Shared.Rent(16); try { if (need > buffer.Length) { byte[] old = buffer; buffer = ArrayPool<byte>.Shared.Rent(need); ArrayPool<byte>.Shared.Return(old); } Sink.Array(buffer); } finally { ArrayPool<byte>.Shared.Return(buffer); } }
            """ },
    };

    [Theory]
    [MemberData(nameof(MustWarn))]
    public Task Warns(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(members), arrays: true);
    }

    [Theory]
    [MemberData(nameof(MustNotWarn))]
    public Task DoesNotWarn(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(members), arrays: true);
    }

    [Fact]
    public Task NoPathReturnsTheArray() => Expect("PP1101", """
        void M(int n)
        {
            var buffer = {|#0:ArrayPool<byte>.Shared.Rent(n)|};
            if (n > 10)
            {
                buffer[0] = 1;
            }

            Sink.Array(buffer);
        }
        """, "Array 'buffer' is never returned to the pool");

    [Fact]
    public Task NoPathRecyclesThePage() => Expect("PP1001", """
        void M(bool c)
        {
            var p = {|#0:pool.AllocPage()|};
            if (c)
            {
                p.Span.Clear();
            }
        }
        """, "Page 'p' is never recycled or handed on");

    [Fact]
    public Task SomePathReturnsTheArray() => Expect("PP1101", """
        void M(int n)
        {
            var buffer = {|#0:ArrayPool<byte>.Shared.Rent(n)|};
            if (n > 10)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        """, "Array 'buffer' is not returned to the pool when the condition at line 14 is false");

    [Fact]
    public Task ReturnedTwiceWhenRentThrows() => Expect("PP1103", """
        void M(int need)
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(16);
            try
            {
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = ArrayPool<byte>.Shared.Rent(need);
                Sink.Array(buffer);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return({|#0:buffer|});
            }
        }
        """, "Array 'buffer' is returned to the pool twice (first at line 16) when 'ArrayPool<byte>.Shared.Rent' at line 17 throws");

    private static Task Expect(string id, string members, string message)
    {
        var test = CreateTest(InClass(members), arrays: true);
        test.ExpectedDiagnostics.Add(new DiagnosticResult(id, DiagnosticSeverity.Warning).WithLocation(0).WithArguments(message));
        return test.RunAsync();
    }
}
