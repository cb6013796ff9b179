using System;
using System.Runtime.InteropServices;

namespace PagePool.Internal;

/// <summary>Linux anonymous mappings aligned to 2 MiB and advised for transparent huge pages (MADV_HUGEPAGE).</summary>
internal static partial class HugePageMapping
{
    private const int ProtRead = 0x1;
    private const int ProtWrite = 0x2;
    private const int MapPrivate = 0x02;
    private const int MapAnonymous = 0x20;
    private const int MadvHugePage = 14;
    private const nuint Alignment = 2 * 1024 * 1024;

    /// <summary>Tests turn this off to exercise the fallback to Native memory.</summary>
    internal static bool ForceUnsupported { get; set; }

    public static bool IsSupported => OperatingSystem.IsLinux() && !ForceUnsupported;

    /// <summary>Maps <paramref name="bytes"/> at a 2 MiB boundary; returns the aligned start or 0 on failure.</summary>
    public static nint Map(long bytes, out nint mapping, out nuint mappedLength)
    {
        mapping = 0;
        mappedLength = 0;
        if (!IsSupported)
        {
            return 0;
        }
        try
        {
            nuint length = (nuint)bytes + Alignment;
            nint start = mmap(0, length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (start == -1 || start == 0)
            {
                return 0;
            }
            nint aligned = (nint)(((nuint)start + Alignment - 1) & ~(Alignment - 1));
            // Advice failing (THP disabled) still leaves usable memory; the kernel simply uses small pages.
            _ = madvise(aligned, (nuint)bytes, MadvHugePage);
            mapping = start;
            mappedLength = length;
            return aligned;
        }
        catch (DllNotFoundException)
        {
            return 0;
        }
        catch (EntryPointNotFoundException)
        {
            return 0;
        }
    }

    public static void Unmap(nint mapping, nuint length) => _ = munmap(mapping, length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint addr, nuint length, int advice);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(nint addr, nuint length);
}
