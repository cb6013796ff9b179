using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
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

    /// <summary>One receiver with one transport and one kind of buffers: warm-up, then the measured receive phase.</summary>
    private static RxResult Run<TBuffers>(TBuffers buffers, Transport transport, Options options, double seconds, RxQueue? queue, TextWriter log,
                                          CancellationToken cancel)
        where TBuffers : struct, IRxBuffers
    {
        using var socket = new Socket(options.Listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.ReceiveBufferSize = 8 << 20;
        socket.Bind(options.Listen);
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
            log.WriteLine($"listening on {bound} ({buffers.Name}){(double.IsInfinity(seconds) ? ", Ctrl+C to stop" : "")}");
        }

        cancel.WaitHandle.WaitOne(options.WarmupMs);
        receiver.BeginMeasuring();
        RxSnapshot start = receiver.Counters.Snapshot();
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
        log.WriteLine("| buffers                | packets/s  | MB/s    | allocated (rx+proc threads) | allocated (process) | gen0 | gen1 | gen2 | invalid | queue drops |");
        log.WriteLine("|------------------------|-----------:|--------:|----------------------------:|--------------------:|-----:|-----:|-----:|--------:|------------:|");
        foreach (RxResult r in results)
        {
            double s = Math.Max(r.Seconds, 0.001);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Buffers,-22} | {r.Delta.Received / s,10:N0} | {r.Delta.Bytes / s / 1e6,7:F1} | {r.ThreadAllocatedBytes,27:N0} | " +
                $"{r.ProcessAllocatedBytes,19:N0} | {r.Gen0,4} | {r.Gen1,4} | {r.Gen2,4} | {r.Delta.Invalid,7:N0} | {r.Delta.DroppedQueueFull,11:N0} |"));
        }
        log.WriteLine();
        log.WriteLine($"PagePool: pages in use after stop {pagesInUse}, pages created {pagesCreated}, {stats}");
    }

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

/// <summary>Command line.</summary>
internal sealed class Options
{
    public const string Usage =
        "usage: UdpRxQueue [--listen HOST:PORT] [--seconds N] [--no-sender] [--json] [--compare | --no-compare] [--size BYTES]\n" +
        "                  [--transport io_uring|recvmmsg|socket] [--compare-transports]\n" +
        "  no arguments: ~10 s demo on loopback (PagePool with live lines, then ArrayPool and new byte[])\n" +
        "  --transport  io_uring (default where the kernel allows it, else recvmmsg, with a note), recvmmsg, or socket\n" +
        "               (Socket.ReceiveFrom into ArrayPool<byte>.Shared arrays)\n" +
        "  --compare-transports  the three transports one after another, same sender: packets/s, CPU ns/packet,\n" +
        "               allocations, gen0, latency percentiles (--json: one line per transport)\n" +
        "  --coalesce-us  io_uring: a wait gathers up to 32 datagrams for at most this long, as a NIC's rx-usecs\n" +
        "               (default 50; 0 wakes on the first datagram; needs Linux 6.12, ignored before)\n" +
        "  --listen     address to receive on (default 127.0.0.1:0, an ephemeral port)\n" +
        "  --seconds    length of the receive phase (default 6 with the sender, until Ctrl+C without)\n" +
        "  --no-sender  receive external traffic only\n" +
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
