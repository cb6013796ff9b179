using System.Threading.Tasks;
using static PagePool.Analyzers.Tests.Ownership.OwnershipVerifier;

namespace PagePool.Analyzers.Tests.Ownership;

/// <summary>PP1101–PP1103: the same engine for arrays rented from an ArrayPool (off by default, turned on here).</summary>
public sealed class ArrayPoolTests
{
    public static TheoryData<string, string> LeakMustWarn => new()
    {
        { "never returned", """
            void M(int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}; a[0] = 1; }
            """ },
        { "returned on one branch", """
            void M(bool c) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(16)|}; if (c) ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "early return", """
            int M(int n) { var a = {|PP1101:ArrayPool<int>.Shared.Rent(n)|}; if (n == 0) return 0; ArrayPool<int>.Shared.Return(a); return 1; }
            """ },
        { "throw while holding", """
            void M(int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(n)|}; if (n > 100) throw new InvalidOperationException(); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "continue skips the return", """
            void M(int n) { for (int i = 0; i < n; i++) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(i)|}; if (i == 2) continue; ArrayPool<byte>.Shared.Return(a); } }
            """ },
        { "overwritten", """
            void M() { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; a = ArrayPool<byte>.Shared.Rent(16); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "discarded", """
            void M() { {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; }
            """ },
        { "swallowed exception", """
            void M() { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; try { Sink.Array(a); ArrayPool<byte>.Shared.Return(a); } catch { } }
            """ },
        { "in a lambda", """
            void M() { Action f = () => { var a = {|PP1101:ArrayPool<char>.Shared.Rent(8)|}; a[0] = 'x'; }; f(); }
            """ },
        { "switch case forgets", """
            void M(int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; switch (n) { case 0: ArrayPool<byte>.Shared.Return(a); break; default: break; } }
            """ },
        { "a collection copied into it and never returned", """
            void M(System.Collections.Generic.Queue<byte> queue) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(queue.Count)|}; queue.CopyTo(a, 0); Sink.Array(a); }
            """ },
        { "a list copied into it and never returned", """
            void M(List<int> items) { var a = {|PP1101:ArrayPool<int>.Shared.Rent(items.Count)|}; items.CopyTo(a); }
            """ },
        { "custom pool instance", """
            void M(ArrayPool<byte> custom) { var a = {|PP1101:custom.Rent(8)|}; Sink.Array(a); }
            """ },
    };

    public static TheoryData<string, string> LeakMustNotWarn => new()
    {
        { "a collection copied into it, then returned", """
            void M(System.Collections.Generic.Queue<byte> queue) { var a = ArrayPool<byte>.Shared.Rent(queue.Count); queue.CopyTo(a, 0); Sink.Array(a); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "try/finally", """
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); try { Sink.Array(a); } finally { ArrayPool<byte>.Shared.Return(a); } }
            """ },
        { "nullable local with != null in finally", """
            void M(int n) { byte[]? rented = null; try { rented = ArrayPool<byte>.Shared.Rent(n); Sink.Array(rented); } finally { if (rented != null) ArrayPool<byte>.Shared.Return(rented); } }
            """ },
        { "is not null", """
            void M(int n) { byte[]? rented = null; try { if (n > 256) rented = ArrayPool<byte>.Shared.Rent(n); Sink.Work(); } finally { if (rented is not null) ArrayPool<byte>.Shared.Return(rented); } }
            """ },
        { "stackalloc or rent", """
            void M(int n) { byte[]? rented = null; Span<byte> buffer = n <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(n)); try { Sink.Bytes(buffer); } finally { if (rented != null) ArrayPool<byte>.Shared.Return(rented); } }
            """ },
        { "returned from the method", """
            byte[] M(int n) { var a = ArrayPool<byte>.Shared.Rent(n); a[0] = 1; return a; }
            """ },
        { "stored in a field", """
            byte[]? _buffer;
            void M(int n) { _buffer = ArrayPool<byte>.Shared.Rent(n); }
            """ },
        { "returned on both branches", """
            void M(bool c) { var a = ArrayPool<byte>.Shared.Rent(8); if (c) { ArrayPool<byte>.Shared.Return(a, clearArray: true); } else { ArrayPool<byte>.Shared.Return(a); } }
            """ },
        { "is null early return", """
            void M(byte[]? given) { var a = given is null ? ArrayPool<byte>.Shared.Rent(8) : null; if (a is null) return; ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "passed then returned", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); Sink.Array(a); Sink.Bytes(a.AsSpan()); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "loop with return each iteration", """
            void M(int n) { for (int i = 0; i < n; i++) { var a = ArrayPool<byte>.Shared.Rent(i + 1); a[0] = 1; ArrayPool<byte>.Shared.Return(a); } }
            """ },
        { "return in catch then rethrow", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); try { Sink.Array(a); } catch { ArrayPool<byte>.Shared.Return(a); throw; } ArrayPool<byte>.Shared.Return(a); }
            """ },
    };

    public static TheoryData<string, string> UseAfterReturnMustWarn => new()
    {
        { "an element read beside a reference comparison", """
            int M() { var a = ArrayPool<byte>.Shared.Rent(8); var old = a; ArrayPool<byte>.Shared.Return(a); return ReferenceEquals(old, a) ? 0 : {|PP1102:old|}[0]; }
            """ },
        { "index after return", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); {|PP1102:a|}[0] = 1; }
            """ },
        { "Length after return", """
            int M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); return {|PP1102:a|}.Length; }
            """ },
        { "AsSpan after return", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); Sink.Bytes({|PP1102:a|}.AsSpan()); }
            """ },
        { "passed after return", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); Sink.Array({|PP1102:a|}); }
            """ },
        { "copy after return", """
            byte[] M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); var b = {|PP1102:a|}; return b; }
            """ },
        { "through a copy", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); var b = a; ArrayPool<byte>.Shared.Return(b); {|PP1102:a|}[1] = 2; }
            """ },
        { "on one branch", """
            byte[]? _kept;
            void M(bool c) { var a = ArrayPool<byte>.Shared.Rent(8); if (c) ArrayPool<byte>.Shared.Return(a); else _kept = a; Sink.Array({|PP1102:a|}); }
            """ },
        { "in the next iteration", """
            void M(int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; for (int i = 0; i < n; i++) { {|PP1102:a|}[i] = 0; ArrayPool<byte>.Shared.Return({|PP1103:a|}); } }
            """ },
        { "Array.Clear after return", """
            void M() { var a = ArrayPool<int>.Shared.Rent(8); ArrayPool<int>.Shared.Return(a); Array.Clear({|PP1102:a|}); }
            """ },
        { "after the finally returned it", """
            int M() { var a = ArrayPool<byte>.Shared.Rent(8); try { Sink.Array(a); } finally { ArrayPool<byte>.Shared.Return(a); } return {|PP1102:a|}.Length; }
            """ },
    };

    public static TheoryData<string, string> UseAfterReturnMustNotWarn => new()
    {
        { "ReferenceEquals with the array a helper put in its place", """
            bool M() { var a = ArrayPool<byte>.Shared.Rent(8); var backup = a; ArrayPool<byte>.Shared.Return(a); a = ArrayPool<byte>.Shared.Rent(16); bool same = ReferenceEquals(backup, a); ArrayPool<byte>.Shared.Return(a); return same; }
            """ },
        { "a test framework's AreSame with the array a helper put in its place", """
            static class Assert { public static void AreSame(object? expected, object? actual) { } public static void NotSame(object? expected, object? actual) { } }
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); var backup = a; ArrayPool<byte>.Shared.Return(a); a = ArrayPool<byte>.Shared.Rent(16); Assert.AreSame(backup, a); Assert.NotSame(backup, a); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "== between the returned array and its replacement", """
            bool M() { var a = ArrayPool<byte>.Shared.Rent(8); var old = a; ArrayPool<byte>.Shared.Return(a); a = ArrayPool<byte>.Shared.Rent(16); bool moved = old != a; ArrayPool<byte>.Shared.Return(a); return moved; }
            """ },
        { "use before return", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); a[0] = 1; ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "cleared to null after return", """
            void M() { byte[]? a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); a = null; _ = a; }
            """ },
        { "null check after return is not a use", """
            void M() { byte[]? a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); if (a != null) { } }
            """ },
        { "rented again", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); a = ArrayPool<byte>.Shared.Rent(8); a[0] = 1; ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "returned on an exiting branch", """
            void M(bool c) { var a = ArrayPool<byte>.Shared.Rent(8); if (c) { ArrayPool<byte>.Shared.Return(a); return; } a[0] = 1; ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "fresh array per iteration", """
            void M(int n) { for (int i = 0; i < n; i++) { var a = ArrayPool<byte>.Shared.Rent(8); a[0] = 1; ArrayPool<byte>.Shared.Return(a); } }
            """ },
        { "a plain array", """
            void M() { var a = new byte[8]; a[0] = 1; Sink.Array(a); }
            """ },
        { "two arrays", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); var b = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); b[0] = 1; ArrayPool<byte>.Shared.Return(b); }
            """ },
        { "stored then used", """
            byte[]? _keep;
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); _keep = a; a[0] = 1; }
            """ },
        { "return in catch then rethrow, use after", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); try { Sink.Work(); } catch { ArrayPool<byte>.Shared.Return(a); throw; } a[0] = 1; ArrayPool<byte>.Shared.Return(a); }
            """ },
    };

    public static TheoryData<string, string> ReturnedTwiceMustWarn => new()
    {
        { "twice directly", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); ArrayPool<byte>.Shared.Return({|PP1103:a|}); }
            """ },
        { "through a copy", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); var b = a; ArrayPool<byte>.Shared.Return(b); ArrayPool<byte>.Shared.Return({|PP1103:a|}); }
            """ },
        { "in try then finally", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); try { Sink.Array(a); ArrayPool<byte>.Shared.Return(a); } finally { ArrayPool<byte>.Shared.Return({|PP1103:a|}); } }
            """ },
        { "on one branch then always", """
            void M(bool c) { var a = ArrayPool<byte>.Shared.Rent(8); if (c) ArrayPool<byte>.Shared.Return(a); ArrayPool<byte>.Shared.Return({|PP1103:a|}); }
            """ },
        { "in a loop", """
            void M(int n) { var a = {|PP1101:ArrayPool<byte>.Shared.Rent(8)|}; for (int i = 0; i < n; i++) ArrayPool<byte>.Shared.Return({|PP1103:a|}); }
            """ },
        { "in catch after the try returned it", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); try { ArrayPool<byte>.Shared.Return(a); Sink.Work(); } catch { ArrayPool<byte>.Shared.Return({|PP1103:a|}); throw; } }
            """ },
        { "nullable guarded twice", """
            void M() { byte[]? a = ArrayPool<byte>.Shared.Rent(8); if (a != null) ArrayPool<byte>.Shared.Return(a); if (a != null) ArrayPool<byte>.Shared.Return({|PP1103:a|}); }
            """ },
        { "to a custom pool twice", """
            void M(ArrayPool<int> p) { var a = p.Rent(8); p.Return(a); p.Return({|PP1103:a|}); }
            """ },
        { "switch with goto", """
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(8); switch (n) { case 0: ArrayPool<byte>.Shared.Return(a); goto default; default: ArrayPool<byte>.Shared.Return({|PP1103:a|}); break; } }
            """ },
        { "in a local function", """
            void M() { Local(); void Local() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); ArrayPool<byte>.Shared.Return({|PP1103:a|}); } }
            """ },
    };

    public static TheoryData<string, string> ReturnedTwiceMustNotWarn => new()
    {
        { "once", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "cleared after return, guarded finally", """
            void M() { byte[]? a = null; try { a = ArrayPool<byte>.Shared.Rent(8); Sink.Work(); ArrayPool<byte>.Shared.Return(a); a = null; } finally { if (a != null) ArrayPool<byte>.Shared.Return(a); } }
            """ },
        { "each branch once", """
            void M(bool c) { var a = ArrayPool<byte>.Shared.Rent(8); if (c) ArrayPool<byte>.Shared.Return(a); else ArrayPool<byte>.Shared.Return(a, true); }
            """ },
        { "rented again between", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "two arrays", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); var b = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); ArrayPool<byte>.Shared.Return(b); }
            """ },
        { "fresh per iteration", """
            void M(int n) { for (int i = 0; i < n; i++) { var a = ArrayPool<byte>.Shared.Rent(8); ArrayPool<byte>.Shared.Return(a); } }
            """ },
        { "return in catch then rethrow and after", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); try { Sink.Work(); } catch { ArrayPool<byte>.Shared.Return(a); throw; } ArrayPool<byte>.Shared.Return(a); }
            """ },
        { "switch each case once", """
            void M(int n) { var a = ArrayPool<byte>.Shared.Rent(8); switch (n) { case 0: ArrayPool<byte>.Shared.Return(a); break; default: ArrayPool<byte>.Shared.Return(a, true); break; } }
            """ },
        { "returned in a lambda only", """
            void M() { var a = ArrayPool<byte>.Shared.Rent(8); Task.Run(() => ArrayPool<byte>.Shared.Return(a)); }
            """ },
        { "null-conditional pattern", """
            void M(bool c) { byte[]? a = c ? ArrayPool<byte>.Shared.Rent(8) : null; if (a is { } owned) ArrayPool<byte>.Shared.Return(owned); }
            """ },
    };

    [Theory]
    [MemberData(nameof(LeakMustWarn))]
    [MemberData(nameof(UseAfterReturnMustWarn))]
    [MemberData(nameof(ReturnedTwiceMustWarn))]
    public Task Warns(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(members), arrays: true);
    }

    [Theory]
    [MemberData(nameof(LeakMustNotWarn))]
    [MemberData(nameof(UseAfterReturnMustNotWarn))]
    [MemberData(nameof(ReturnedTwiceMustNotWarn))]
    public Task DoesNotWarn(string name, string members)
    {
        _ = name;
        return VerifyAsync(InClass(members), arrays: true);
    }
}
