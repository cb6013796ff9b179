using System;
using System.Runtime.InteropServices;

namespace PagePool.IoUring;

/// <summary>
/// The io_uring system calls and the kernel's structures (include/uapi/linux/io_uring.h), for 64-bit Linux. The
/// system calls go through libc's <c>syscall</c>: 425/426/427 are the same on x86-64 and arm64, and both pass the
/// variadic arguments in the integer registers, so a fixed seven-argument signature is exact.
/// </summary>
internal static unsafe partial class IoUringNative
{
    public const long SysIoUringSetup = 425;
    public const long SysIoUringEnter = 426;
    public const long SysIoUringRegister = 427;

    // errno values (asm-generic, shared by x86-64 and arm64)
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int ENOSYS = 38;
    public const int ETIME = 62;
    public const int ENOTSOCK = 88;
    public const int EOPNOTSUPP = 95;
    public const int ENOBUFS = 105;
    public const int EALREADY = 114;
    public const int ECANCELED = 125;

    // io_uring_setup flags
    public const uint IORING_SETUP_CQSIZE = 1U << 3;
    public const uint IORING_SETUP_CLAMP = 1U << 4;
    public const uint IORING_SETUP_R_DISABLED = 1U << 6;
    public const uint IORING_SETUP_SUBMIT_ALL = 1U << 7;
    public const uint IORING_SETUP_COOP_TASKRUN = 1U << 8;
    public const uint IORING_SETUP_TASKRUN_FLAG = 1U << 9;
    public const uint IORING_SETUP_SINGLE_ISSUER = 1U << 12;
    public const uint IORING_SETUP_DEFER_TASKRUN = 1U << 13;

    // io_uring_params.features
    public const uint IORING_FEAT_SINGLE_MMAP = 1U << 0;
    public const uint IORING_FEAT_NODROP = 1U << 1;
    public const uint IORING_FEAT_EXT_ARG = 1U << 8;
    public const uint IORING_FEAT_MIN_TIMEOUT = 1U << 15;

    // mmap offsets
    public const long IORING_OFF_SQ_RING = 0;
    public const long IORING_OFF_SQES = 0x10000000;

    // io_uring_enter flags
    public const uint IORING_ENTER_GETEVENTS = 1U << 0;
    public const uint IORING_ENTER_EXT_ARG = 1U << 3;

    // sq ring flags
    public const uint IORING_SQ_CQ_OVERFLOW = 1U << 1;
    public const uint IORING_SQ_TASKRUN = 1U << 2;

    // opcodes
    public const byte IORING_OP_NOP = 0;
    public const byte IORING_OP_RECVMSG = 10;
    public const byte IORING_OP_ASYNC_CANCEL = 14;
    public const byte IORING_OP_RECV = 27;

    // sqe flags
    public const byte IOSQE_BUFFER_SELECT = 1 << 5;

    // sqe ioprio for send/recv
    public const ushort IORING_RECVSEND_POLL_FIRST = 1 << 0;
    public const ushort IORING_RECV_MULTISHOT = 1 << 1;

    // ASYNC_CANCEL flags (sqe op flags)
    public const uint IORING_ASYNC_CANCEL_ALL = 1U << 0;
    public const uint IORING_ASYNC_CANCEL_FD = 1U << 1;
    public const uint IORING_ASYNC_CANCEL_ANY = 1U << 2;

    // cqe flags
    public const uint IORING_CQE_F_BUFFER = 1U << 0;
    public const uint IORING_CQE_F_MORE = 1U << 1;
    public const uint IORING_CQE_F_SOCK_NONEMPTY = 1U << 2;
    public const uint IORING_CQE_F_BUF_MORE = 1U << 4;
    public const int IORING_CQE_BUFFER_SHIFT = 16;

    // io_uring_register opcodes
    public const uint IORING_REGISTER_PROBE = 8;
    public const uint IORING_REGISTER_ENABLE_RINGS = 12;
    public const uint IORING_REGISTER_PBUF_RING = 22;
    public const uint IORING_UNREGISTER_PBUF_RING = 23;

    // io_uring_buf_reg.flags
    public const ushort IOU_PBUF_RING_INC = 2;

    public const ushort IO_URING_OP_SUPPORTED = 1;

    // recvmsg flags
    public const int MSG_TRUNC = 0x20;
    public const int MSG_CTRUNC = 0x08;

    // mmap
    public const int PROT_READ = 0x1;
    public const int PROT_WRITE = 0x2;
    public const int MAP_SHARED = 0x01;
    public const int MAP_PRIVATE = 0x02;
    public const int MAP_POPULATE = 0x8000;
    public const int MAP_ANONYMOUS = 0x20;
    public static readonly nint MAP_FAILED = -1;

    [StructLayout(LayoutKind.Sequential)]
    public struct SqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1;
        public ulong UserAddr;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CqRingOffsets
    {
        public uint Head, Tail, RingMask, RingEntries, Overflow, Cqes, Flags, Resv1;
        public ulong UserAddr;
    }

    /// <summary>struct io_uring_params: 120 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Params
    {
        public uint SqEntries, CqEntries, Flags, SqThreadCpu, SqThreadIdle, Features, WqFd;
        public uint Resv0, Resv1, Resv2;
        public SqRingOffsets SqOff;
        public CqRingOffsets CqOff;
    }

    /// <summary>struct io_uring_sqe: 64 bytes.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    public struct Sqe
    {
        [FieldOffset(0)] public byte Opcode;
        [FieldOffset(1)] public byte Flags;
        [FieldOffset(2)] public ushort IoPrio;
        [FieldOffset(4)] public int Fd;
        [FieldOffset(8)] public ulong Off;
        [FieldOffset(16)] public ulong Addr;
        [FieldOffset(24)] public uint Len;
        [FieldOffset(28)] public uint OpFlags;   // msg_flags, cancel_flags, ...
        [FieldOffset(32)] public ulong UserData;
        [FieldOffset(40)] public ushort BufGroup; // buf_index / buf_group
        [FieldOffset(42)] public ushort Personality;
        [FieldOffset(44)] public int SpliceFdIn;
        [FieldOffset(48)] public ulong Addr3;
        [FieldOffset(56)] public ulong Pad2;
    }

    /// <summary>struct io_uring_cqe: 16 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Cqe
    {
        public ulong UserData;
        public int Res;
        public uint Flags;
    }

    /// <summary>struct io_uring_buf: 16 bytes; the ring's tail is the u16 at offset 14 of entry 0.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Buf
    {
        public ulong Addr;
        public uint Len;
        public ushort Bid;
        public ushort Resv;
    }

    /// <summary>struct io_uring_buf_reg: 40 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct BufReg
    {
        public ulong RingAddr;
        public uint RingEntries;
        public ushort Bgid;
        public ushort Flags;
        public ulong Resv0, Resv1, Resv2;
    }

    /// <summary>struct io_uring_getevents_arg: 24 bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct GetEventsArg
    {
        public ulong SigMask;
        public uint SigMaskSize;
        public uint MinWaitUsec;
        public ulong Ts;
    }

    /// <summary>struct __kernel_timespec.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct KernelTimespec
    {
        public long Sec;
        public long Nsec;
    }

    /// <summary>struct io_uring_recvmsg_out: 16 bytes at the start of each multishot recvmsg buffer.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct RecvMsgOut
    {
        public uint NameLen;
        public uint ControlLen;
        public uint PayloadLen;
        public uint Flags;
    }

    /// <summary>struct msghdr (LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public nint Name;
        public uint NameLen;
        public nint Iov;
        public nuint IovLen;
        public nint Control;
        public nuint ControlLen;
        public int Flags;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, nint a1, nint a2, nint a3, nint a4, nint a5, nint a6);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>io_uring_setup: the ring's fd, or -errno.</summary>
    public static int Setup(uint entries, Params* p)
    {
        long r = Syscall(SysIoUringSetup, (nint)entries, (nint)p, 0, 0, 0, 0);
        return r < 0 ? -Marshal.GetLastPInvokeError() : (int)r;
    }

    /// <summary>io_uring_enter: completions consumed / entries submitted, or -errno.</summary>
    public static int Enter(int fd, uint toSubmit, uint minComplete, uint flags, void* arg, nuint argSize)
    {
        long r = Syscall(SysIoUringEnter, fd, (nint)toSubmit, (nint)minComplete, (nint)flags, (nint)arg, (nint)argSize);
        return r < 0 ? -Marshal.GetLastPInvokeError() : (int)r;
    }

    /// <summary>io_uring_register: 0 or a positive result, or -errno.</summary>
    public static int Register(int fd, uint opcode, void* arg, uint count)
    {
        long r = Syscall(SysIoUringRegister, fd, (nint)opcode, (nint)arg, (nint)count, 0, 0);
        return r < 0 ? -Marshal.GetLastPInvokeError() : (int)r;
    }

    /// <summary>A short name for an errno value, for messages.</summary>
    public static string ErrnoName(int errno) => errno switch
    {
        EPERM => "EPERM",
        ENOENT => "ENOENT",
        EINTR => "EINTR",
        EBADF => "EBADF",
        EAGAIN => "EAGAIN",
        ENOMEM => "ENOMEM",
        EFAULT => "EFAULT",
        EBUSY => "EBUSY",
        EEXIST => "EEXIST",
        EINVAL => "EINVAL",
        ENFILE => "ENFILE",
        EMFILE => "EMFILE",
        ENOSYS => "ENOSYS",
        ETIME => "ETIME",
        ENOTSOCK => "ENOTSOCK",
        EOPNOTSUPP => "EOPNOTSUPP",
        ENOBUFS => "ENOBUFS",
        EALREADY => "EALREADY",
        ECANCELED => "ECANCELED",
        _ => "errno " + errno.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}
