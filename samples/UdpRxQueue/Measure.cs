using System;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace UdpRxQueue;

/// <summary>The calling thread's CPU time: <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c> on Linux.</summary>
internal static unsafe partial class ThreadCpu
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, Timespec* ts);

    /// <summary>True where the thread's CPU time can be read.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux();

    /// <summary>Nanoseconds of CPU time the calling thread has used (user + system), or 0 where not supported.</summary>
    public static long NowNs()
    {
        if (!IsSupported)
        {
            return 0;
        }
        Timespec ts;
        return ClockGetTime(ClockThreadCpuTimeId, &ts) == 0 ? ts.Sec * 1_000_000_000L + ts.Nsec : 0;
    }
}

/// <summary>
/// Latencies in microseconds: one bucket per microsecond below 65.536 ms, one per millisecond from there to 65 s.
/// Recording is an increment into arrays made once, so the processing thread allocates nothing while it measures.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Buckets = 65536;
    private readonly long[] _counts = new long[Buckets];
    private readonly long[] _coarse = new long[Buckets]; // milliseconds, from Buckets µs up
    private long _total;

    public long Count => _total;

    /// <summary>Records the time from the sender's <see cref="Stopwatch"/> timestamp to now.</summary>
    public void Record(long sentTimestamp, long nowTimestamp)
    {
        long us = (nowTimestamp - sentTimestamp) * 1_000_000 / Stopwatch.Frequency;
        if (us < Buckets)
        {
            _counts[us < 0 ? 0 : us]++;
        }
        else
        {
            _coarse[Math.Min(us / 1000, Buckets - 1)]++;
        }
        _total++;
    }

    /// <summary>The latency in µs below which <paramref name="fraction"/> of the recorded ones fall (-1 when none).</summary>
    public double Percentile(double fraction)
    {
        if (_total == 0)
        {
            return -1;
        }
        long rank = (long)Math.Ceiling(fraction * _total);
        long seen = 0;
        for (int i = 0; i < Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return i;
            }
        }
        for (int i = 0; i < Buckets; i++)
        {
            seen += _coarse[i];
            if (seen >= rank)
            {
                return Math.Max(i * 1000.0, Buckets);
            }
        }
        return Buckets * 1000.0;
    }
}
