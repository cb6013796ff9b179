using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
/// Who the owner context is, cheaply enough for <c>RecyclePage</c> to ask on every call (the kernel asks whether it
/// runs in the NAPI owner's softirq; a thread-static read is a call into the TLS resolver on linux-x64, which measured
/// about 2 ns in a loop of alloc + recycle, as much as the whole direct recycle, against about 0.4 ns for this check). Every allocation records a stack address (one store); the slow path records the bounds of
/// the allocating thread's stack. Thread stacks never overlap, so "this stack address and the latest allocation's
/// both lie inside the recorded stack" means exactly "this is the thread that allocated last", with no TLS access.
/// Where stack bounds are not available it falls back to comparing managed thread ids.
/// </summary>
/// <remarks><para>A field of the pool; <see cref="Enter"/> and <see cref="Capture"/> run in the owner context only.</para>
/// <para>Laid out on cache lines of its own: the owner writes the latest stack address on every allocation, while
/// recycling threads read the bounds on every recycle; those must not share a line with each other or with the pool.</para></remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
[StructLayout(LayoutKind.Explicit, Size = 192)]
public struct OwnerContext
{
    [FieldOffset(64)]
    private nint _stackLow;           // the recorded owner thread's stack: [low, low + size)
    [FieldOffset(72)]
    private nuint _stackSize;         // 0: bounds unknown, use _threadId
    [FieldOffset(80)]
    private int _threadId;
    [FieldOffset(128)]
    private nint _lastStackAddress;   // a stack address of the latest allocation, written by every allocation

    /// <summary>Owner: every allocation records where its stack is (one store).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void Enter()
    {
        byte marker = 0;
        _lastStackAddress = (nint)Unsafe.AsPointer(ref marker);
    }

    /// <summary>Owner, slow path: records the allocating thread's stack bounds (cached per thread) and id.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public unsafe void Capture()
    {
        byte marker = 0;
        nint here = (nint)Unsafe.AsPointer(ref marker);
        StackBounds.Get(out nint low, out nuint size);
        if ((nuint)(here - low) >= size)
        {
            size = 0; // bounds that do not hold our own stack cannot be trusted: use thread ids
        }
        _stackLow = low;
        _stackSize = size;
        _threadId = OwnerThread.CurrentId;
        _lastStackAddress = here;
    }

    /// <summary>Any thread: true when the caller is the thread of the latest allocation (so it may use the owner cache).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe bool IsCurrentThread()
    {
        byte marker = 0;
        nint here = (nint)Unsafe.AsPointer(ref marker);
        nuint size = _stackSize;
        if (size != 0)
        {
            nint low = _stackLow;
            return (nuint)(here - low) < size && (nuint)(_lastStackAddress - low) < size;
        }
        return IsCurrentThreadById();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly bool IsCurrentThreadById() => _threadId != 0 && _threadId == OwnerThread.CurrentId;
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
