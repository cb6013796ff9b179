using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace PagePool.Internal;

/// <summary>The calling thread's managed id, cached in a thread-static. For slow paths and the fallback owner check.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class OwnerThread
{
    [ThreadStatic]
    private static int t_id;

    /// <summary>The calling thread's managed thread id (never 0).</summary>
    public static int CurrentId
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            int id = t_id;
            return id != 0 ? id : Initialize();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Initialize() => t_id = Environment.CurrentManagedThreadId;
}

/// <summary>
/// Who the owner context is, cheaply enough for <c>AllocPage</c> and <c>RecyclePage</c> to ask on every call (the
/// kernel asks whether it runs in the NAPI owner's softirq). A thread-static read is a call into the TLS resolver on
/// linux-x64, as costly as the whole direct recycle; this check is a subtraction and a compare on a line nobody writes
/// in steady state. The slow path of an allocation records the
/// bounds of the allocating thread's stack. Thread stacks never overlap, so "a local of mine lies inside the recorded
/// stack" means exactly "I am the thread that allocated last". Each allocation checks that it still runs on that stack
/// and takes the slow path (which records the new owner) when it does not, so <c>RecyclePage</c> on a former owner's
/// thread never takes the direct path once another thread allocates. Where stack bounds are not available it falls back
/// to comparing managed thread ids, on the slow path of <c>RecyclePage</c>.
/// </summary>
/// <remarks><para>A field of the pool; <see cref="Capture"/> runs in the owner context only, the checks on any thread.</para>
/// <para>Laid out on a cache line of its own with 128 bytes each side (the adjacent-line prefetcher's pair), written only
/// by <see cref="Capture"/>: recycling threads read it on every recycle, so it must not share a line with fields the
/// owner writes on its fast path.</para></remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
[StructLayout(LayoutKind.Explicit, Size = 320)]
public struct OwnerContext
{
    [FieldOffset(128)]
    private nint _stackLow;           // the recorded owner thread's stack: [low, low + size)
    [FieldOffset(136)]
    private nuint _allocSpan;         // the stack's size; nuint.MaxValue without bounds (thread ids cannot be checked cheaply)
    [FieldOffset(144)]
    private nuint _recycleSpan;       // the stack's size; 0 without bounds (RecyclePage asks IsCurrentThreadById instead)
    [FieldOffset(152)]
    private int _threadId;

    /// <summary>
    /// Owner, on every allocation: true while the caller runs on the recorded owner's stack. False before the first
    /// <see cref="Capture"/> and once the owner context moved to another thread: the caller then takes its slow path,
    /// which calls <see cref="Capture"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool IsOwnerStack() => IsOnRecordedStack(_allocSpan);

    /// <summary>Owner, slow path: records the allocating thread's stack bounds (cached per thread) and id.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    public unsafe void Capture()
    {
        Unsafe.SkipInit(out byte marker);
        nint here = (nint)Unsafe.AsPointer(ref marker);
        StackBounds.Get(out nint low, out nuint size);
        int threadId = OwnerThread.CurrentId;
        nuint allocSpan = size, recycleSpan = size;
        if ((nuint)(here - low) >= size)
        {
            // No bounds, or bounds that do not hold our own stack: they cannot be trusted, use thread ids.
            low = 0;
            allocSpan = nuint.MaxValue;
            recycleSpan = 0;
        }
        if (_threadId == threadId && _stackLow == low && _allocSpan == allocSpan && _recycleSpan == recycleSpan)
        {
            return; // unchanged: do not write the line every recycling thread reads (each refill comes through here)
        }
        // The spans go to 0 first and get their values last, so a recycling thread that reads the fields while the owner
        // context moves mostly sees "not the owner" (the ring). A reader that read the old low just before this and
        // reads the new span just after can still combine them; with equal stack sizes (the usual case) that is the
        // old answer, which is what it would have got a moment earlier.
        Volatile.Write(ref _recycleSpan, 0);
        Volatile.Write(ref _allocSpan, 0);
        _threadId = threadId;
        _stackLow = low;
        Volatile.Write(ref _allocSpan, allocSpan);
        Volatile.Write(ref _recycleSpan, recycleSpan);
    }

    /// <summary>
    /// Any thread: true when the caller is the thread of the latest allocation, so it may use the owner cache. False
    /// also when that cannot be told from stack addresses: the caller's slow path then asks
    /// <see cref="IsCurrentThreadById"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool IsCurrentThread() => IsOnRecordedStack(_recycleSpan);

    /// <summary>
    /// Any thread, slow path: where stack bounds are not available, true when the caller is the thread recorded by the
    /// latest <see cref="Capture"/>; false wherever <see cref="IsCurrentThread"/> can answer by itself.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool IsCurrentThreadById() => _recycleSpan == 0 && IsRecordedThread();

    /// <summary>A local of the caller lies in [recorded low, low + <paramref name="span"/>): one subtraction, one compare.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [SkipLocalsInit]
    private unsafe readonly bool IsOnRecordedStack(nuint span)
    {
        Unsafe.SkipInit(out byte marker);
        return (nuint)((nint)Unsafe.AsPointer(ref marker) - _stackLow) < span;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly bool IsRecordedThread() => _threadId != 0 && _threadId == OwnerThread.CurrentId;
}

/// <summary>The calling thread's stack bounds from the OS, cached per thread.</summary>
internal static unsafe partial class StackBounds
{
    [ThreadStatic]
    private static nint t_low;
    [ThreadStatic]
    private static nuint t_size;
    [ThreadStatic]
    private static bool t_known;

    /// <summary>Tests force the thread-id fallback.</summary>
    internal static bool ForceUnavailable { get; set; }

    public static void Get(out nint low, out nuint size)
    {
        if (ForceUnavailable)
        {
            low = 0;
            size = 0;
            return;
        }
        if (!t_known)
        {
            t_known = true;
            if (!TryQuery(out t_low, out t_size))
            {
                t_low = 0;
                t_size = 0;
            }
        }
        low = t_low;
        size = t_size;
    }

    private static bool TryQuery(out nint low, out nuint size)
    {
        low = 0;
        size = 0;
        try
        {
            if (OperatingSystem.IsWindows())
            {
                GetCurrentThreadStackLimits(out nuint lowLimit, out nuint highLimit);
                low = (nint)lowLimit;
                size = highLimit - lowLimit;
                return size != 0;
            }
            if (OperatingSystem.IsLinux())
            {
                byte* attr = stackalloc byte[256]; // pthread_attr_t is 56 bytes on glibc x64, 64 on arm64: room to spare
                if (pthread_getattr_np(pthread_self(), attr) != 0)
                {
                    return false;
                }
                int rc = pthread_attr_getstack(attr, out low, out size);
                _ = pthread_attr_destroy(attr);
                return rc == 0 && size != 0;
            }
            if (OperatingSystem.IsMacOS())
            {
                nint self = pthread_self();
                nint high = pthread_get_stackaddr_np(self);
                size = pthread_get_stacksize_np(self);
                low = high - (nint)size;
                return size != 0;
            }
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
        return false;
    }

    [LibraryImport("libc")]
    private static partial nint pthread_self();

    [LibraryImport("libc")]
    private static partial int pthread_getattr_np(nint thread, void* attr);

    [LibraryImport("libc")]
    private static partial int pthread_attr_getstack(void* attr, out nint stackAddress, out nuint stackSize);

    [LibraryImport("libc")]
    private static partial int pthread_attr_destroy(void* attr);

    [LibraryImport("libc")]
    private static partial nint pthread_get_stackaddr_np(nint thread);

    [LibraryImport("libc")]
    private static partial nuint pthread_get_stacksize_np(nint thread);

    [LibraryImport("kernel32")]
    private static partial void GetCurrentThreadStackLimits(out nuint lowLimit, out nuint highLimit);
}
