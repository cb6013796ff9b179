using System;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using PagePool;
using PagePool.IoUring;

namespace PipelinesEcho;

/// <summary>
/// A TCP echo server whose System.IO.Pipelines pipes use a <c>[PagePool]</c> class's pages. <c>--self-test</c> pushes
/// data through it on loopback, verifies every byte, compares with the pipe's default pool, and checks that every
/// page came back.
/// </summary>
internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        bool selfTest = false;
        bool compare = false;
        bool json = false;
        long megabytes = 256;
        int connections = 2;
        bool connectionsGiven = false;
        string transport = "pipelines";
        double seconds = 5;
        int messageSize = 32;
        int rounds = 1;
        IPEndPoint? client = null;
        IPEndPoint listen = new(IPAddress.Loopback, 5007);
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--self-test":
                    selfTest = true;
                    break;
                case "--compare-transports":
                    compare = true;
                    break;
                case "--json":
                    json = true;
                    break;
                case "--megabytes" when i + 1 < args.Length && long.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out long mb) && mb > 0:
                    megabytes = mb;
                    i++;
                    break;
                case "--connections" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int c) && c > 0:
                    connections = c;
                    connectionsGiven = true;
                    i++;
                    break;
                case "--transport" when i + 1 < args.Length && args[i + 1] is "pipelines" or "io_uring" or "socket" or "zero-byte":
                    transport = args[i + 1];
                    i++;
                    break;
                case "--seconds" when i + 1 < args.Length && double.TryParse(args[i + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > 0 && s <= 3600:
                    seconds = s;
                    i++;
                    break;
                case "--message-size" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int m) && m >= 12 && m <= 65536:
                    messageSize = m;
                    i++;
                    break;
                case "--rounds" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int r) && r > 0 && r <= 100:
                    rounds = r;
                    i++;
                    break;
                case "--client" when i + 1 < args.Length && IPEndPoint.TryParse(args[i + 1], out IPEndPoint? server):
                    client = server;
                    i++;
                    break;
                case "--listen" when i + 1 < args.Length && IPEndPoint.TryParse(args[i + 1], out IPEndPoint? ep):
                    listen = ep;
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"unknown or incomplete argument {args[i]}");
                    Console.Error.WriteLine("usage: PipelinesEcho [--listen HOST:PORT] [--transport pipelines|io_uring|socket|zero-byte]");
                    Console.Error.WriteLine("       PipelinesEcho --self-test [--transport T] [--megabytes N] [--connections N] [--json]");
                    Console.Error.WriteLine("       PipelinesEcho --compare-transports [--connections N] [--seconds N] [--message-size N] [--rounds N] [--json]");
                    return 64;
            }
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        using PosixSignalRegistration? sigterm = OperatingSystem.IsWindows() ? null
            : PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                cancel.Cancel();
            });

        if (client is not null)
        {
            return await TransportRuns.ClientAsync(client, connections, seconds, messageSize, cancel.Token).ConfigureAwait(false);
        }
        if (compare)
        {
            var transports = new System.Collections.Generic.List<string>(TransportRuns.AllTransports);
            if (!IoRing.IsSupported(out string? reason))
            {
                Console.Error.WriteLine($"note: io_uring is not available here, so it is left out of the comparison: {reason}");
                transports.Remove("io_uring");
            }
            return await TransportRuns.CompareAsync(transports, connectionsGiven ? connections : 1000, seconds, messageSize, rounds, json, cancel.Token)
                .ConfigureAwait(false);
        }
        if (transport == "io_uring" && !IoRing.IsSupported(out string? why))
        {
            Console.Error.WriteLine($"note: io_uring is not available here ({why}); using the zero-byte transport instead");
            transport = "zero-byte";
        }
        if (transport != "pipelines")
        {
            return selfTest
                ? await TransportRuns.SelfTestAsync(transport, megabytes, connections, json, cancel.Token).ConfigureAwait(false)
                : await ServeTransportAsync(transport, listen, cancel.Token).ConfigureAwait(false);
        }

        var pages = new EchoPages();
        int exitCode = selfTest
            ? await RunSelfTestAsync(pages, megabytes, connections, cancel.Token).ConfigureAwait(false)
            : await ServeAsync(pages, listen, cancel.Token).ConfigureAwait(false);
        pages.DestroyPagePool();
        return exitCode;
    }

    private static async Task<int> ServeTransportAsync(string transport, IPEndPoint listen, CancellationToken cancel)
    {
        using EchoTransport server = EchoTransport.Create(transport, listen);
        server.Start();
        Console.WriteLine($"echo server on {server.EndPoint}, transport {server.Description} (Ctrl+C to stop)");
        try
        {
            await Task.Delay(Timeout.Infinite, cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        Console.WriteLine($"stopping: {server.BytesEchoed:N0} bytes echoed");
        server.Stop();
        (_, int pagesInUse, _) = server.PoolState;
        Console.WriteLine($"pages in use after stop: {pagesInUse}");
        return pagesInUse == 0 ? 0 : 2;
    }

    private static async Task<int> ServeAsync(EchoPages pages, IPEndPoint listen, CancellationToken cancel)
    {
        await using (var server = new EchoServer(listen, pages.AsMemoryPool(), cancel))
        {
            Console.WriteLine($"echo server on {server.EndPoint}, pages of {EchoPages.PageSize} bytes (Ctrl+C to stop)");
            try
            {
                await Task.Delay(Timeout.Infinite, cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            Console.WriteLine($"stopping: {server.BytesEchoed:N0} bytes echoed");
        }
        Console.WriteLine($"pages in use after stop: {pages.PagesInUse}");
        return pages.PagesInUse == 0 ? 0 : 2;
    }

    private static async Task<int> RunSelfTestAsync(EchoPages pages, long megabytes, int connections, CancellationToken cancel)
    {
        long bytes = megabytes * 1024 * 1024;
        Console.WriteLine($"self-test: {megabytes} MiB through the echo server over {connections} connection(s) on loopback");

        // Warm both paths up (JIT, first pages) so the measured runs compare steady states.
        await SelfTest.RunAsync("warm-up", pages.AsMemoryPool(), 4 << 20, 1, cancel).ConfigureAwait(false);
        await SelfTest.RunAsync("warm-up", null, 4 << 20, 1, cancel).ConfigureAwait(false);

        EchoResult paged = await SelfTest.RunAsync("PagePool (AsMemoryPool)", pages.AsMemoryPool(), bytes, connections, cancel).ConfigureAwait(false);
        int pagesInUse = pages.PagesInUse;
        PagePoolStats stats = pages.GetPageStats();
        EchoResult shared = await SelfTest.RunAsync("default (MemoryPool<byte>.Shared)", null, bytes, connections, cancel).ConfigureAwait(false);

        Console.WriteLine();
        Console.WriteLine("| pipe pool                         | MB/s    | bytes verified | mismatches | allocated during run | gen0 |");
        Console.WriteLine("|-----------------------------------|--------:|---------------:|-----------:|---------------------:|-----:|");
        foreach (EchoResult r in new[] { paged, shared })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Pool,-33} | {r.MegabytesPerSecond,7:F1} | {r.BytesVerified,14:N0} | {r.Mismatches,10:N0} | {r.AllocatedBytes,20:N0} | {r.Gen0,4} |"));
        }
        Console.WriteLine();
        Console.WriteLine($"pages in use after the PagePool run: {pagesInUse}; {stats}");

        bool ok = true;
        foreach (EchoResult r in new[] { paged, shared })
        {
            if (!r.Passed)
            {
                Console.WriteLine($"FAIL: {r.Pool}: {r.BytesVerified:N0} of {r.BytesSent:N0} bytes verified, {r.Mismatches:N0} mismatches");
                ok = false;
            }
        }
        if (pagesInUse != 0)
        {
            Console.WriteLine($"FAIL: {pagesInUse} pages were not returned to the pool");
            return 2;
        }
        if (!ok)
        {
            return 1;
        }
        Console.WriteLine($"PASS: every byte verified ({paged.BytesVerified + shared.BytesVerified:N0} in all), every page returned");
        return 0;
    }
}
