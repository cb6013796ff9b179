using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading;
using PagePool;

namespace UdpRxQueue;

/// <summary>
/// UDP receive queue on a <c>[PagePool]</c> class. With no arguments: a ~10 s demo with a sender in the same process
/// on loopback, a live line every second, then the same receiver with ArrayPool and new byte[] buffers.
/// </summary>
internal static class Program
{
    private const int RingCapacity = 512;

    private static int Main(string[] args)
    {
        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Options.Usage);
            return 64;
        }
        if (options.Help)
        {
            Console.WriteLine(Options.Usage);
            return 0;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true; // end cleanly: stop receiving, return every page, report
            cancel.Cancel();
        };
        using PosixSignalRegistration? sigterm = OperatingSystem.IsWindows() ? null
            : PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                cancel.Cancel();
            });

        TextWriter log = options.Json ? Console.Error : Console.Out;
        if (options.CompareTransports)
        {
            return CompareTransports(options, log, cancel.Token);
        }
        Transport transport = ResolveTransport(options.Transport, log);
        log.WriteLine($"UdpRxQueue: {Describe(transport)}{(transport == Transport.IoUring ? $", coalescing {options.CoalesceMicroseconds} µs" : "")}, " +
                      $"pages of {RxQueue.PageSize} bytes, pool of {RxQueue.PoolSize}, {(options.Sender ? $"sender on loopback ({options.DatagramSize}-byte datagrams)" : "no sender")}");

        var queue = new RxQueue();
        var results = new List<RxResult>();
        RxResult pagePool = transport == Transport.Socket
            ? Run(new ArrayPoolBuffers(RxQueue.PageSize), transport, options, options.Seconds, queue, log, cancel.Token)
            : Run(new PageBuffers(queue), transport, options, options.Seconds, queue, log, cancel.Token);
        results.Add(pagePool);
        long pagesInUse = queue.PagesInUse;
        PagePoolStats stats = queue.GetPageStats();

        if (options.Compare && !cancel.IsCancellationRequested)
        {
            results.Add(Run(new ArrayPoolBuffers(RxQueue.PageSize), Transport.RecvMmsg, options, options.CompareSeconds, null, log, cancel.Token));
        }
        if (options.Compare && !cancel.IsCancellationRequested)
        {
            results.Add(Run(new NewArrayBuffers(RxQueue.PageSize), Transport.RecvMmsg, options, options.CompareSeconds, null, log, cancel.Token));
        }

        queue.DestroyPagePool();
        PrintTable(log, results, pagesInUse, stats, queue.PagesCreated);
        if (options.Json)
        {
            WriteJson(pagePool, pagesInUse, stats);
        }

        int exitCode = 0;
        if (pagesInUse != 0)
        {
            log.WriteLine($"FAIL: {pagesInUse} pages still in use after the receiver stopped.");
            exitCode = 2;
        }
        if (options.Sender && pagePool.Delta.Invalid != 0)
        {
            log.WriteLine($"FAIL: {pagePool.Delta.Invalid} datagrams failed validation.");
            exitCode = 3;
        }
        return exitCode;
    }

    /// <summary>
    /// The transport asked for, or the best one that works here: io_uring where the kernel has it (falling back with a
    /// note that says why), then recvmmsg on Linux, then Socket.ReceiveFrom.
    /// </summary>
    private static Transport ResolveTransport(Transport? requested, TextWriter log)
    {
        Transport wanted = requested ?? Transport.IoUring;
        if (wanted == Transport.IoUring && !PagePool.IoUring.IoRing.IsSupported(out string? why))
        {
            Transport fallback = RecvMmsg.IsSupported ? Transport.RecvMmsg : Transport.Socket;
            log.WriteLine($"note: io_uring is not available ({why}); using {Name(fallback)} instead.");
            return fallback;
        }
        if (wanted == Transport.RecvMmsg && !RecvMmsg.IsSupported)
        {
            log.WriteLine("note: recvmmsg needs 64-bit Linux; using socket (Socket.ReceiveFrom) instead.");
            return Transport.Socket;
        }
        return wanted;
    }

    private static string Name(Transport t) => t switch
    {
        Transport.IoUring => "io_uring",
        Transport.RecvMmsg => "recvmmsg",
        _ => "socket",
    };

    private static string Describe(Transport t) => t switch
    {
        Transport.IoUring => $"io_uring multishot recvmsg, {UdpReceiver<PageBuffers>.IoUringRingEntries} pages posted",
        Transport.RecvMmsg => "recvmmsg, batches of " + UdpReceiver<PageBuffers>.Batch,
        _ => "Socket.ReceiveFrom into ArrayPool<byte>.Shared arrays",
    };

    /// <summary>
    /// The three transports one after another against the same in-process sender: a table, and with --json one line
    /// per transport.
    /// </summary>
    private static int CompareTransports(Options options, TextWriter log, CancellationToken cancel)
    {
        log.WriteLine($"UdpRxQueue --compare-transports: {options.CompareSeconds:0.#} s each, io_uring coalescing {options.CoalesceMicroseconds} µs, pages of {RxQueue.PageSize} bytes, " +
                      $"pool of {RxQueue.PoolSize}, {(options.Sender ? $"sender on loopback ({options.DatagramSize}-byte datagrams)" : "no sender")}");
        var results = new List<RxResult>();
        int exitCode = 0;
        foreach (Transport wanted in new[] { Transport.IoUring, Transport.RecvMmsg, Transport.Socket })
        {
            if (cancel.IsCancellationRequested)
            {
                break;
            }
            Transport transport = ResolveTransport(wanted, log);
            if (transport != wanted)
            {
                continue; // its fallback is measured under its own name
            }
            var queue = new RxQueue();
            RxResult r = transport == Transport.Socket
                ? Run(new ArrayPoolBuffers(RxQueue.PageSize), transport, options, options.CompareSeconds, null, log, cancel)
                : Run(new PageBuffers(queue), transport, options, options.CompareSeconds, queue, log, cancel);
            long pagesInUse = queue.PagesInUse;
            queue.DestroyPagePool();
            if (pagesInUse != 0)
            {
                log.WriteLine($"FAIL: {Name(transport)}: {pagesInUse} pages still in use after the receiver stopped.");
                exitCode = 2;
            }
            if (options.Sender && r.Delta.Invalid != 0)
            {
                log.WriteLine($"FAIL: {Name(transport)}: {r.Delta.Invalid} datagrams failed validation.");
                exitCode = 3;
            }
            results.Add(r);
        }

        log.WriteLine();
        log.WriteLine("| transport | packets/s  | CPU ns/packet | allocated (rx+proc threads) | gen0 | p50 µs | p99 µs | p99.9 µs | ring dry |");
        log.WriteLine("|-----------|-----------:|--------------:|----------------------------:|-----:|-------:|-------:|---------:|---------:|");
        foreach (RxResult r in results)
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Transport,-9} | {r.PacketsPerSecond,10:N0} | {r.CpuNsPerPacket,13:N0} | {r.ThreadAllocatedBytes,27:N0} | {r.Gen0,4} | " +
                $"{r.P50Us,6:N0} | {r.P99Us,6:N0} | {r.P999Us,8:N0} | {r.RingEmpty,8:N0} |"));
        }
        if (options.Json)
        {
            using Stream stdout = Console.OpenStandardOutput();
            foreach (RxResult r in results)
            {
                using (var json = new Utf8JsonWriter(stdout))
                {
                    json.WriteStartObject();
                    WriteTransportFields(json, r);
                    json.WriteNumber("datagrams", r.Delta.Received);
                    json.WriteNumber("invalidDatagrams", r.Delta.Invalid);
                    json.WriteNumber("seconds", Math.Round(r.Seconds, 3));
                    json.WriteEndObject();
                }
                stdout.WriteByte((byte)'\n');
            }
        }
        return exitCode;
    }

    private static void WriteTransportFields(Utf8JsonWriter json, RxResult r)
    {
        json.WriteString("transport", r.Transport);
        json.WriteNumber("packetsPerSecond", Math.Round(r.PacketsPerSecond));
        json.WriteNumber("cpuNsPerPacket", Math.Round(r.CpuNsPerPacket, 1));
        json.WriteNumber("allocatedBytes", r.ThreadAllocatedBytes);
        json.WriteNumber("gen0Collections", r.Gen0);
        json.WriteNumber("p50LatencyUs", r.P50Us);
        json.WriteNumber("p99LatencyUs", r.P99Us);
        json.WriteNumber("p999LatencyUs", r.P999Us);
    }

    /// <summary>
    /// One receiver with one transport and one kind of buffers: warm-up, then the measured receive phase. With the
    /// in-process sender the warm-up is the first <see cref="Options.WarmupMs"/> of traffic on the measured socket,
    /// not counted. Without it the port is public and traffic may arrive the moment it is bound, so the receiver is
    /// warmed before the socket is bound (<see cref="WarmUp{TBuffers}"/>) and every datagram from the bind on counts.
    /// </summary>
    private static RxResult Run<TBuffers>(TBuffers buffers, Transport transport, Options options, double seconds, RxQueue? queue, TextWriter log,
                                          CancellationToken cancel)
        where TBuffers : struct, IRxBuffers
    {
        if (!options.Sender)
        {
            WarmUp(buffers, transport, options, queue, cancel);
        }
        using Socket socket = BindReceiveSocket(options.Listen, options.ReceiveBufferBytes, out int receiveBuffer, out bool capped);
        var bound = (IPEndPoint)socket.LocalEndPoint!;
        var target = new IPEndPoint(
            bound.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : bound.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : bound.Address, bound.Port);

        var receiver = new UdpReceiver<TBuffers>(socket, transport, transport == Transport.IoUring ? queue : null, buffers, RingCapacity, cancel)
        {
            CoalesceMicroseconds = options.CoalesceMicroseconds,
        };
        using Sender? sender = options.Sender ? new Sender(target, options.DatagramSize) : null;
        receiver.Start();
        sender?.Start();
        if (!options.Sender)
        {
            log.WriteLine($"listening on {bound} ({buffers.Name}, socket buffer {receiveBuffer / 1024:N0} KiB, warm-up {Name(options.WarmUp)})" +
                          $"{(double.IsInfinity(seconds) ? ", Ctrl+C to stop" : "")}");
            if (capped)
            {
                // What the buffer holds is what survives the receive thread's time off the CPU: at 300 Mbit/s a
                // capped default buffer lasts a few milliseconds.
                log.WriteLine($"note: the kernel capped the socket buffer at {receiveBuffer / 1024:N0} KiB (net.core.rmem_max); bursts beyond it " +
                              $"are dropped. Raise it: sysctl -w net.core.rmem_max={options.ReceiveBufferBytes}");
            }
        }
        else
        {
            cancel.WaitHandle.WaitOne(options.WarmupMs);
        }
        receiver.BeginMeasuring();
        // Without the sender nothing is excluded: counting starts from zero, at the bind.
        RxSnapshot start = options.Sender ? receiver.Counters.Snapshot() : default;
        PagePoolStats poolStart = queue?.GetPageStats() ?? default;
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long began = Environment.TickCount64;

        RxSnapshot last = start;
        PagePoolStats poolLast = poolStart;
        long elapsedMs = 0;
        long printedMs = 0;
        while (!cancel.IsCancellationRequested && elapsedMs < seconds * 1000)
        {
            long remaining = double.IsInfinity(seconds) ? 1000 : (long)(seconds * 1000) - elapsedMs;
            cancel.WaitHandle.WaitOne((int)Math.Min(1000, Math.Max(1, remaining - (elapsedMs % 1000))));
            long now = Environment.TickCount64 - began;
            if (queue is not null && now / 1000 > elapsedMs / 1000)
            {
                RxSnapshot snap = receiver.Counters.Snapshot();
                PagePoolStats pool = queue.GetPageStats();
                PrintLive(log, now, snap - last, (now - printedMs) / 1000.0, pool, poolLast);
                printedMs = now;
                last = snap;
                poolLast = pool;
            }
            elapsedMs = now;
        }

        receiver.EndMeasuring();
        RxSnapshot end = receiver.Counters.Snapshot();
        double measured = (Environment.TickCount64 - began) / 1000.0;
        int gen0End = GC.CollectionCount(0), gen1End = GC.CollectionCount(1), gen2End = GC.CollectionCount(2);
        long allocatedEnd = GC.GetTotalAllocatedBytes(precise: true);
        sender?.Dispose();
        receiver.Stop();

        RxSnapshot delta = end - start;
        LatencyHistogram latency = receiver.Latency;
        return new RxResult(buffers.Name, measured, delta, gen0End - gen0, gen1End - gen1, gen2End - gen2,
            receiver.MeasuredThreadAllocations, allocatedEnd - allocated, buffers.InUse, sender?.Sent ?? 0)
        {
            Transport = Name(transport),
            PacketsPerSecond = delta.Received / Math.Max(measured, 0.001),
            CpuNsPerPacket = delta.Received == 0 ? 0 : (double)receiver.MeasuredThreadCpuNs / delta.Received,
            P50Us = latency.Percentile(0.50),
            P99Us = latency.Percentile(0.99),
            P999Us = latency.Percentile(0.999),
            RingEmpty = receiver.RingEmpty,
        };
    }

    /// <summary>
    /// Makes the receiver warm before its port exists, so the first datagrams of external traffic are not lost to
    /// start-up. <see cref="WarmUpMode.Pages"/>: every page of the pool is created now (a page created while
    /// traffic flows costs the receive thread a slab allocation and <c>OnPageCreated</c>).
    /// <see cref="WarmUpMode.Loop"/>: the pages, then the same receiver (same transport, same buffers, same code)
    /// runs against the in-process sender on a private loopback socket for <see cref="Options.WarmupMs"/>, so the
    /// receive and processing paths have been compiled by the optimizing JIT before the public socket is bound.
    /// </summary>
    private static void WarmUp<TBuffers>(TBuffers buffers, Transport transport, Options options, RxQueue? queue, CancellationToken cancel)
        where TBuffers : struct, IRxBuffers
    {
        if (options.WarmUp == WarmUpMode.None)
        {
            return;
        }
        if (queue is not null)
        {
            // The receive thread has not started: this thread is the pool's only caller, its owner context for now.
            var pages = new Page[RxQueue.PoolSize];
            int n = queue.AllocPages(pages);
            for (int i = 0; i < n; i++)
            {
                queue.RecyclePageDirect(pages[i]);
            }
        }
        if (options.WarmUp != WarmUpMode.Loop)
        {
            return;
        }
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var receiver = new UdpReceiver<TBuffers>(socket, transport, transport == Transport.IoUring ? queue : null, buffers, RingCapacity, cancel)
        {
            CoalesceMicroseconds = options.CoalesceMicroseconds,
        };
        using (var sender = new Sender((IPEndPoint)socket.LocalEndPoint!, Datagram.DefaultSize))
        {
            receiver.Start();
            sender.Start();
            cancel.WaitHandle.WaitOne(options.WarmupMs);
        }
        receiver.Stop();
    }

    /// <summary>
    /// A UDP socket bound to <paramref name="listen"/> with a receive buffer of about <paramref name="bytes"/>: it holds
    /// what arrives while the receive thread is off the CPU. The kernel caps SO_RCVBUF at net.core.rmem_max;
    /// SO_RCVBUFFORCE passes the cap where the process may (CAP_NET_ADMIN), and is simply refused elsewhere.
    /// </summary>
    private static Socket BindReceiveSocket(IPEndPoint listen, int bytes, out int effective, out bool capped)
    {
        var socket = new Socket(listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.ReceiveBufferSize = bytes;
            // Linux reports twice the size asked for (the other half is its bookkeeping): less means it was capped.
            long expected = OperatingSystem.IsLinux() ? 2L * bytes : bytes;
            if (OperatingSystem.IsLinux() && socket.ReceiveBufferSize < expected)
            {
                const int SOL_SOCKET = 1, SO_RCVBUFFORCE = 33;
                try
                {
                    socket.SetRawSocketOption(SOL_SOCKET, SO_RCVBUFFORCE, BitConverter.GetBytes(bytes));
                }
                catch (SocketException)
                {
                    // Not permitted here: the capped size stands.
                }
            }
            effective = socket.ReceiveBufferSize;
            capped = effective < expected;
            socket.Bind(listen);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static string Name(WarmUpMode mode) => mode switch
    {
        WarmUpMode.Loop => "loop",
        WarmUpMode.Pages => "pages",
        _ => "none",
    };

    private static void PrintLive(TextWriter log, long nowMs, RxSnapshot delta, double seconds, PagePoolStats pool, PagePoolStats previous)
    {
        seconds = Math.Max(seconds, 0.001);
        long allocs = (pool.AllocFast - previous.AllocFast) + (pool.AllocRefill - previous.AllocRefill) + (pool.AllocSlow - previous.AllocSlow);
        double cacheHit = allocs == 0 ? 0 : 100.0 * (pool.AllocFast - previous.AllocFast) / allocs;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[{nowMs / 1000.0,5:F1}s] {delta.Received / seconds,10:N0} pkt/s {delta.Bytes / seconds / 1e6,8:F1} MB/s  " +
            $"pages in use {pool.PagesInUse,4}  cache hits {cacheHit,5:F1}%  ring: recycled {pool.RecycleRing - previous.RecycleRing,8:N0} " +
            $"refills {pool.AllocRefill - previous.AllocRefill,6:N0}  drops {delta.DroppedQueueFull,5:N0}  starved {delta.Starved,4:N0}"));
    }

    private static void PrintTable(TextWriter log, List<RxResult> results, long pagesInUse, PagePoolStats stats, long pagesCreated)
    {
        log.WriteLine();
        log.WriteLine("| buffers                | transport | packets/s  | MB/s    | allocated (rx+proc threads) | allocated (process) | gen0 | gen1 | gen2 | invalid | queue drops | drop % |");
        log.WriteLine("|------------------------|-----------|-----------:|--------:|----------------------------:|--------------------:|-----:|-----:|-----:|--------:|------------:|-------:|");
        foreach (RxResult r in results)
        {
            double s = Math.Max(r.Seconds, 0.001);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Buffers,-22} | {r.Transport,-9} | {r.Delta.Received / s,10:N0} | {r.Delta.Bytes / s / 1e6,7:F1} | {r.ThreadAllocatedBytes,27:N0} | " +
                $"{r.ProcessAllocatedBytes,19:N0} | {r.Gen0,4} | {r.Gen1,4} | {r.Gen2,4} | {r.Delta.Invalid,7:N0} | {r.Delta.DroppedQueueFull,11:N0} | " +
                $"{DropPercent(r),6:F1} |"));
        }
        log.WriteLine();
        log.WriteLine(ColumnLegend);
        if (results.Count > 1 && results[0].Buffers == "PagePool")
        {
            log.WriteLine();
            foreach (string line in Verdict(results))
            {
                log.WriteLine(line);
            }
        }
        log.WriteLine();
        log.WriteLine($"PagePool: pages in use after stop {pagesInUse}, pages created {pagesCreated}, {stats}");
    }

    private static double DropPercent(RxResult r) => r.Delta.Received == 0 ? 0 : 100.0 * r.Delta.DroppedQueueFull / r.Delta.Received;

    /// <summary>What each column of the summary table counts (printed under it; the README repeats it).</summary>
    internal const string ColumnLegend =
        "Columns (the measured window: after the warm-up with the in-process sender, from the bind on without it):\n" +
        "  packets/s    datagrams the receive thread took from the kernel per second, dropped ones included\n" +
        "  MB/s         payload of the datagrams that reached the processing thread and passed validation\n" +
        "  allocated    bytes allocated by the receive and processing threads / by the whole process (sender and\n" +
        "               live line included); gen0-2: garbage collections in the window\n" +
        "  invalid      datagrams not in the sender's format (external traffic is all invalid: counted, not checked)\n" +
        "  queue drops  datagrams received but dropped because the processing thread was behind (its 512-slot ring\n" +
        "               was full); the buffer went straight back. A count, not a rate: a receiver that takes more\n" +
        "               packets fills the ring more often, so compare drop % (queue drops / packets received)";

    /// <summary>
    /// PagePool's row against each other row, in words: ahead, level, or not ahead. Packets/s with the sender in the
    /// same process depends on how the scheduler shares the cores between sender, receiver and processor at least as
    /// much as on the buffers, so a loss there is said plainly, not hidden behind the allocation columns.
    /// </summary>
    private static IEnumerable<string> Verdict(List<RxResult> results)
    {
        RxResult pp = results[0];
        double ppRate = Rate(pp);
        bool behind = false;
        foreach (RxResult other in results.Skip(1))
        {
            double rate = Rate(other);
            double ratio = rate == 0 ? double.PositiveInfinity : ppRate / rate;
            behind |= ratio <= 0.9;
            string speed = ratio >= 1.1 ? Inv($"ahead on packets/s ({ratio:F1}x)")
                : ratio > 0.9 ? Inv($"level on packets/s ({ratio:F2}x, within this demo's run-to-run noise)")
                : Inv($"NOT ahead on packets/s ({ratio:F2}x: {ppRate:N0} against {rate:N0})");
            string memory = pp.ThreadAllocatedBytes < other.ThreadAllocatedBytes
                ? Inv($"allocates {pp.ThreadAllocatedBytes:N0} bytes on the receive threads against {other.ThreadAllocatedBytes:N0}")
                : Inv($"does NOT allocate less on the receive threads ({pp.ThreadAllocatedBytes:N0} against {other.ThreadAllocatedBytes:N0})");
            double mb = pp.Delta.Bytes / Math.Max(pp.Seconds, 0.001) / 1e6, otherMb = other.Delta.Bytes / Math.Max(other.Seconds, 0.001) / 1e6;
            string validated = mb >= otherMb * 1.1 ? Inv($"ahead on validated MB/s ({mb:F1} against {otherMb:F1})")
                : mb > otherMb * 0.9 ? Inv($"level on validated MB/s ({mb:F1} against {otherMb:F1})")
                : Inv($"NOT ahead on validated MB/s ({mb:F1} against {otherMb:F1})");
            behind |= mb <= otherMb * 0.9;
            int gcs = other.Gen0 + other.Gen1 + other.Gen2, ppGcs = pp.Gen0 + pp.Gen1 + pp.Gen2;
            string gc = ppGcs < gcs ? Inv($"{ppGcs} collections against {gcs}") : Inv($"no fewer collections ({ppGcs} against {gcs})");
            string drops = DropPercent(pp) <= DropPercent(other)
                ? Inv($"drop % {DropPercent(pp):F1} against {DropPercent(other):F1}")
                : Inv($"drops MORE ({DropPercent(pp):F1}% against {DropPercent(other):F1}%)");
            yield return Inv($"PagePool vs {other.Buffers}: {speed}; {validated}; {memory}; {gc}; {drops}.");
        }
        if (behind)
        {
            yield return "Where PagePool is not ahead on packets/s or MB/s: the sender runs in this process and shares the cores with the " +
                         "receive and processing threads, so those columns measure how the scheduler shares them as much as the " +
                         "buffers. The allocation and GC columns do not depend on it.";
        }
        if (pp.Transport != results[1].Transport)
        {
            yield return $"Note: the PagePool row received with {pp.Transport}, the others with {results[1].Transport} (arrays are not " +
                         "posted to an io_uring buffer ring here); --transport recvmmsg gives every row the same transport.";
        }
    }

    private static double Rate(RxResult r) => r.Delta.Received / Math.Max(r.Seconds, 0.001);

    private static string Inv(FormattableString text) => FormattableString.Invariant(text);

    private static void WriteJson(RxResult r, long pagesInUse, PagePoolStats stats)
    {
        using Stream stdout = Console.OpenStandardOutput();
        using var json = new Utf8JsonWriter(stdout);
        json.WriteStartObject();
        json.WriteString("buffers", r.Buffers);
        WriteTransportFields(json, r);
        json.WriteNumber("seconds", Math.Round(r.Seconds, 3));
        json.WriteNumber("datagrams", r.Delta.Received);
        json.WriteNumber("validDatagrams", r.Delta.Valid);
        json.WriteNumber("invalidDatagrams", r.Delta.Invalid);
        json.WriteNumber("bytes", r.Delta.Bytes);
        json.WriteNumber("queueDrops", r.Delta.DroppedQueueFull);
        json.WriteNumber("starved", r.Delta.Starved);
        json.WriteNumber("pagesInUse", pagesInUse);
        json.WriteNumber("gen1Collections", r.Gen1);
        json.WriteNumber("gen2Collections", r.Gen2);
        json.WriteNumber("processAllocatedBytes", r.ProcessAllocatedBytes);
        json.WriteNumber("sent", r.Sent);
        json.WriteStartObject("stats");
        json.WriteNumber("allocFast", stats.AllocFast);
        json.WriteNumber("allocSlow", stats.AllocSlow);
        json.WriteNumber("allocEmpty", stats.AllocEmpty);
        json.WriteNumber("allocRefill", stats.AllocRefill);
        json.WriteNumber("recycleCached", stats.RecycleCached);
        json.WriteNumber("recycleCacheFull", stats.RecycleCacheFull);
        json.WriteNumber("recycleRing", stats.RecycleRing);
        json.WriteNumber("recycleRingFull", stats.RecycleRingFull);
        json.WriteNumber("recycleReleased", stats.RecycleReleased);
        json.WriteNumber("pagesInUse", stats.PagesInUse);
        json.WriteNumber("pagesCreated", stats.PagesCreated);
        json.WriteNumber("bytesReserved", stats.BytesReserved);
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
        stdout.WriteByte((byte)'\n');
    }
}

/// <summary>What one receiver run measured (the receive phase only, after warm-up).</summary>
internal sealed record RxResult(string Buffers, double Seconds, RxSnapshot Delta, int Gen0, int Gen1, int Gen2,
                                long ThreadAllocatedBytes, long ProcessAllocatedBytes, long InUseAfter, long Sent)
{
    public string Transport { get; init; } = "";
    public double PacketsPerSecond { get; init; }
    public double CpuNsPerPacket { get; init; }
    public double P50Us { get; init; }
    public double P99Us { get; init; }
    public double P999Us { get; init; }
    public long RingEmpty { get; init; }
}

/// <summary>How a <c>--no-sender</c> receiver is warmed before its port is bound.</summary>
internal enum WarmUpMode
{
    /// <summary>Create every page, then run the receiver on a private socket with the in-process sender (the default).</summary>
    Loop,

    /// <summary>Create every page of the pool.</summary>
    Pages,

    /// <summary>Bind at once: pages are created, and code compiled, as the first traffic arrives.</summary>
    None,
}

/// <summary>Command line.</summary>
internal sealed class Options
{
    public const string Usage =
        "usage: UdpRxQueue [--listen HOST:PORT] [--seconds N] [--no-sender] [--json] [--compare | --no-compare] [--size BYTES]\n" +
        "                  [--transport io_uring|recvmmsg|socket] [--compare-transports] [--coalesce-us N]\n" +
        "                  [--warm-up loop|pages|none] [--rcvbuf BYTES]\n" +
        "  no arguments: ~10 s demo on loopback (PagePool with live lines, then ArrayPool and new byte[])\n" +
        "  --transport  io_uring (default where the kernel allows it, else recvmmsg, with a note), recvmmsg, or socket\n" +
        "               (Socket.ReceiveFrom into ArrayPool<byte>.Shared arrays)\n" +
        "  --compare-transports  the three transports one after another, same sender: packets/s, CPU ns/packet,\n" +
        "               allocations, gen0, latency percentiles (--json: one line per transport)\n" +
        "  --coalesce-us  io_uring: a wait gathers up to 32 datagrams for at most this long, as a NIC's rx-usecs\n" +
        "               (default 50; 0 wakes on the first datagram; needs Linux 6.12, ignored before)\n" +
        "  --listen     address to receive on (default 127.0.0.1:0, an ephemeral port)\n" +
        "  --seconds    length of the receive phase (default 6 with the sender, until Ctrl+C without)\n" +
        "  --no-sender  receive external traffic only; every datagram from the bind on is counted\n" +
        "  --warm-up    before binding a --no-sender port: loop (default: create every page of the pool, then run\n" +
        "               the receiver on a private loopback socket with the in-process sender), pages, or none\n" +
        "  --rcvbuf     socket receive buffer in bytes (default 8388608; capped at net.core.rmem_max unless the\n" +
        "               process may use SO_RCVBUFFORCE)\n" +
        "  --json       end with one JSON line: datagrams, bytes, pagesInUse, gen0Collections, allocatedBytes, stats\n" +
        "  --compare    also run ArrayPool and new byte[] receivers (default when no --seconds is given)\n" +
        "  --size       datagram size the sender uses (default 1400, at most the page size to be valid)";

    public IPEndPoint Listen { get; private set; } = new(IPAddress.Loopback, 0);
    public double Seconds { get; private set; } = 6;
    public double CompareSeconds { get; private set; } = 2;
    public int WarmupMs { get; private set; } = 500;
    public bool Sender { get; private set; } = true;
    public bool Json { get; private set; }
    public bool Compare { get; private set; }
    public bool Help { get; private set; }
    public int DatagramSize { get; private set; } = Datagram.DefaultSize;
    public Transport? Transport { get; private set; }
    public bool CompareTransports { get; private set; }
    public int CoalesceMicroseconds { get; private set; } = 50;
    public WarmUpMode WarmUp { get; private set; } = WarmUpMode.Loop;
    public int ReceiveBufferBytes { get; private set; } = 8 << 20;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        bool secondsGiven = false;
        bool? compare = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{arg} needs a value.");
            switch (arg)
            {
                case "--listen":
                    string v = Value();
                    o.Listen = IPEndPoint.TryParse(v, out IPEndPoint? ep) ? ep : throw new ArgumentException($"--listen {v}: not HOST:PORT.");
                    break;
                case "--seconds":
                    string s = Value();
                    o.Seconds = double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double sec) && sec > 0
                        ? sec : throw new ArgumentException($"--seconds {s}: a positive number.");
                    secondsGiven = true;
                    break;
                case "--size":
                    string z = Value();
                    o.DatagramSize = int.TryParse(z, NumberStyles.None, CultureInfo.InvariantCulture, out int size)
                                     && size >= Datagram.HeaderSize && size <= 65507
                        ? size : throw new ArgumentException($"--size {z}: {Datagram.HeaderSize} to 65507.");
                    break;
                case "--transport":
                    string t = Value();
                    o.Transport = t switch
                    {
                        "io_uring" => UdpRxQueue.Transport.IoUring,
                        "recvmmsg" => UdpRxQueue.Transport.RecvMmsg,
                        "socket" => UdpRxQueue.Transport.Socket,
                        _ => throw new ArgumentException($"--transport {t}: io_uring, recvmmsg or socket."),
                    };
                    break;
                case "--compare-transports": o.CompareTransports = true; break;
                case "--coalesce-us":
                    string c = Value();
                    o.CoalesceMicroseconds = int.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out int us) && us <= 1_000_000
                        ? us : throw new ArgumentException($"--coalesce-us {c}: 0 to 1000000.");
                    break;
                case "--warm-up":
                    string w = Value();
                    o.WarmUp = w switch
                    {
                        "loop" => WarmUpMode.Loop,
                        "pages" => WarmUpMode.Pages,
                        "none" => WarmUpMode.None,
                        _ => throw new ArgumentException($"--warm-up {w}: loop, pages or none."),
                    };
                    break;
                case "--rcvbuf":
                    string b = Value();
                    o.ReceiveBufferBytes = int.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out int bytes)
                                           && bytes >= 4096 && bytes <= 1 << 30
                        ? bytes : throw new ArgumentException($"--rcvbuf {b}: 4096 to 1073741824.");
                    break;
                case "--no-sender": o.Sender = false; break;
                case "--json": o.Json = true; break;
                case "--compare": compare = true; break;
                case "--no-compare": compare = false; break;
                case "-h" or "--help": o.Help = true; break;
                default: throw new ArgumentException($"unknown argument {arg}");
            }
        }
        if (!o.Sender && !secondsGiven)
        {
            o.Seconds = double.PositiveInfinity;
        }
        o.Compare = compare ?? (!secondsGiven && o.Sender);
        if (secondsGiven)
        {
            o.CompareSeconds = Math.Max(1, o.Seconds / 2);
            o.WarmupMs = (int)Math.Min(500, o.Seconds * 250);
        }
        if (o.CompareTransports)
        {
            if (!o.Sender)
            {
                throw new ArgumentException("--compare-transports needs the in-process sender (drop --no-sender).");
            }
            o.CompareSeconds = secondsGiven ? o.Seconds : 3;
        }
        return o;
    }
}
