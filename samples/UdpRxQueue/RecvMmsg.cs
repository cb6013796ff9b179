using System;
using System.Runtime.InteropServices;

namespace UdpRxQueue;

/// <summary>
/// Linux's <c>recvmmsg(2)</c> and <c>poll(2)</c>: one system call fills up to a batch of buffers. The structures are
/// the x86-64 / arm64 Linux layouts (LP64).
/// </summary>
internal static unsafe partial class RecvMmsg
{
    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_TRUNC = 0x20;
    public const short POLLIN = 0x1;
    public const int EAGAIN = 11;
    public const int EINTR = 4;

    /// <summary>True where recvmmsg can be used: 64-bit Linux.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && IntPtr.Size == 8;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public nint Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public nint Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MMsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    public static partial int Receive(int fd, MMsgHdr* messages, uint count, int flags, nint timeout);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);
}
