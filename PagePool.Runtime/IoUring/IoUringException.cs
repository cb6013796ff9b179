using System;

namespace PagePool.IoUring;

/// <summary>
/// An io_uring system call or operation failed: <see cref="Errno"/> is the kernel's error number and the message says
/// which call, on which file descriptor or buffer group, and what it means.
/// </summary>
public sealed class IoUringException : PagePoolException
{
    /// <summary>Creates the exception.</summary>
    public IoUringException(string message, int errno) : base(message)
    {
        Errno = errno;
    }

    /// <summary>The kernel's error number (a positive errno value), or 0 when no system call failed.</summary>
    public int Errno { get; }
}
