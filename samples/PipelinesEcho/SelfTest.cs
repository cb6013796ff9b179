using System;
using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace PipelinesEcho;

/// <summary>What one self-test run measured.</summary>
internal sealed record EchoResult(string Pool, long BytesSent, long BytesVerified, long Mismatches, double Seconds,
                                  long AllocatedBytes, int Gen0)
{
    public double MegabytesPerSecond => BytesVerified / Math.Max(Seconds, 1e-9) / 1e6;

    public bool Passed => Mismatches == 0 && BytesVerified == BytesSent;
}

/// <summary>
/// The client side of the self-test: each connection sends <c>bytes</c> of a seeded pseudo-random pattern and checks
/// that every byte comes back, in order, while it is still sending.
/// </summary>
internal static class SelfTest
{
    // Expected byte at stream position p is Pattern[p % PatternPeriod]; the table is longer than the period so any
    // chunk of up to ChunkSize bytes starting inside the period is one contiguous slice.
    private const int PatternPeriod = 65521; // prime: does not line up with page or segment sizes
    private const int ChunkSize = 65536;
    private static readonly byte[] Pattern = CreatePattern();

    private static byte[] CreatePattern()
    {
        var random = new Random(20250101);
        byte[] pattern = new byte[PatternPeriod + ChunkSize];
        random.NextBytes(pattern.AsSpan(0, PatternPeriod));
        for (int i = PatternPeriod; i < pattern.Length; i++)
        {
            pattern[i] = pattern[i - PatternPeriod]; // byte by byte: the tail is longer than the period
        }
        return pattern;
    }

    public static async Task<EchoResult> RunAsync(string poolName, MemoryPool<byte>? pool, long bytes, int connections,
                                                  CancellationToken cancel)
    {
        await using var server = new EchoServer(new IPEndPoint(IPAddress.Loopback, 0), pool, cancel);
        long perConnection = bytes / connections;
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        int gen0 = GC.CollectionCount(0);
        var clock = Stopwatch.StartNew();
        var clients = new Task<(long Verified, long Mismatches)>[connections];
        for (int i = 0; i < connections; i++)
        {
            clients[i] = ClientAsync(server.EndPoint, perConnection, cancel);
        }
        (long Verified, long Mismatches)[] outcomes = await Task.WhenAll(clients).ConfigureAwait(false);
        await server.ConnectionsDone().ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;
        long allocatedDelta = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        int gen0Delta = GC.CollectionCount(0) - gen0;

        long verified = 0, mismatches = 0;
        foreach ((long v, long m) in outcomes)
        {
            verified += v;
            mismatches += m;
        }
        return new EchoResult(poolName, perConnection * connections, verified, mismatches, seconds, allocatedDelta, gen0Delta);
    }

    internal static async Task<(long Verified, long Mismatches)> ClientAsync(IPEndPoint server, long bytes, CancellationToken cancel)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server, cancel).ConfigureAwait(false);
        Task sending = SendPatternAsync(socket, bytes, cancel);
        (long, long) received = await ReceiveAndVerifyAsync(socket, cancel).ConfigureAwait(false);
        await sending.ConfigureAwait(false);
        return received;
    }

    private static async Task SendPatternAsync(Socket socket, long bytes, CancellationToken cancel)
    {
        long position = 0;
        while (position < bytes)
        {
            int offset = (int)(position % PatternPeriod);
            int length = (int)Math.Min(ChunkSize, bytes - position);
            int sent = await socket.SendAsync(Pattern.AsMemory(offset, length), SocketFlags.None, cancel).ConfigureAwait(false);
            position += sent;
        }
        socket.Shutdown(SocketShutdown.Send); // the server echoes what is left, then closes its side
    }

    private static async Task<(long Verified, long Mismatches)> ReceiveAndVerifyAsync(Socket socket, CancellationToken cancel)
    {
        byte[] buffer = GC.AllocateUninitializedArray<byte>(ChunkSize);
        long position = 0;
        long mismatches = 0;
        while (true)
        {
            int received = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, cancel).ConfigureAwait(false);
            if (received == 0)
            {
                return (position - mismatches, mismatches);
            }
            ReadOnlySpan<byte> got = buffer.AsSpan(0, received);
            ReadOnlySpan<byte> expected = Pattern.AsSpan((int)(position % PatternPeriod), received);
            if (!got.SequenceEqual(expected))
            {
                for (int i = 0; i < received; i++)
                {
                    if (got[i] != expected[i])
                    {
                        mismatches++;
                    }
                }
            }
            position += received;
        }
    }
}
