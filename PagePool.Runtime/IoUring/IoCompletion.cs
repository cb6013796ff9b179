using System.Runtime.CompilerServices;
using static PagePool.IoUring.IoUringNative;

namespace PagePool.IoUring;

/// <summary>
/// One completion queue entry (<c>struct io_uring_cqe</c>), copied out of the ring: which operation
/// (<see cref="UserData"/>), its result, and its flags.
/// </summary>
public readonly struct IoCompletion
{
    /// <summary>Creates a completion from its three fields (for tests and adapters).</summary>
    public IoCompletion(ulong userData, int result, uint flags)
    {
        UserData = userData;
        Result = result;
        Flags = flags;
    }

    /// <summary>The value the operation was queued with.</summary>
    public ulong UserData { get; }

    /// <summary>Bytes or a count when not negative; <c>-errno</c> when the operation failed.</summary>
    public int Result { get; }

    /// <summary>The kernel's <c>IORING_CQE_F_*</c> flags, with the buffer id in the upper 16 bits.</summary>
    public uint Flags { get; }

    /// <summary>
    /// True when the operation is still armed (<c>IORING_CQE_F_MORE</c>): a multishot operation posts more completions.
    /// False on an operation's last completion, after which it must be queued again to go on.
    /// </summary>
    public bool HasMore
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (Flags & IORING_CQE_F_MORE) != 0;
    }

    /// <summary>True when the kernel picked a buffer from a provided-buffer ring for this completion (<c>IORING_CQE_F_BUFFER</c>).</summary>
    public bool HasBuffer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (Flags & IORING_CQE_F_BUFFER) != 0;
    }

    /// <summary>The buffer id the kernel picked (the page's id), when <see cref="HasBuffer"/> is true.</summary>
    public int BufferId
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (int)(Flags >> IORING_CQE_BUFFER_SHIFT);
    }

    /// <summary>
    /// Incremental buffer rings only (<c>IORING_CQE_F_BUF_MORE</c>): the kernel keeps the buffer and will append the
    /// next bytes after these, so the page is not yet the caller's.
    /// </summary>
    public bool BufferMore
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (Flags & IORING_CQE_F_BUF_MORE) != 0;
    }

    /// <summary>The socket had more data queued when this completion was posted (<c>IORING_CQE_F_SOCK_NONEMPTY</c>).</summary>
    public bool SocketNonEmpty => (Flags & IORING_CQE_F_SOCK_NONEMPTY) != 0;

    /// <summary>True when the operation failed (<see cref="Result"/> is <c>-errno</c>).</summary>
    public bool IsError => Result < 0;

    /// <summary>The positive errno value when <see cref="IsError"/>, else 0.</summary>
    public int Errno => Result < 0 ? -Result : 0;

    /// <inheritdoc/>
    public override string ToString() =>
        $"user_data 0x{UserData:x} res {(Result < 0 ? ErrnoName(-Result) : Result.ToString(System.Globalization.CultureInfo.InvariantCulture))} flags 0x{Flags:x}";
}
