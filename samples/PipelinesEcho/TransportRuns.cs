using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace PipelinesEcho;

/// <summary>What one transport did under the small-message load.</summary>
internal sealed record TransportResult(string Transport, string Description, int Connections, double Seconds, long Messages,
                                       double CpuSeconds, long BufferBytes, int Gen0, long ClientMessages, long ClientErrors)
{
    public double MessagesPerSecond => Messages / Math.Max(Seconds, 1e-9);

    public double CpuNsPerMessage => CpuSeconds * 1e9 / Math.Max(Messages, 1);
}

/// <summary>
/// <c>--compare-transports</c>, <c>--client</c> and the transports' <c>--self-test</c>: the echo load with the clients in
/// a separate process, so that only the server's CPU time is measured.
/// </summary>
internal static class TransportRuns
{
    public static readonly string[] AllTransports = ["io_uring", "socket", "zero-byte"];

    // ==================================================================== --compare-transports

    public static async Task<int> CompareAsync(IReadOnlyList<string> transports, int connections, double seconds, int messageSize,
                                               int rounds, bool json, CancellationToken cancel)
    {
        if (!json)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compare-transports: {connections} loopback connections, {messageSize}-byte messages, {seconds:0.#} s per run, {rounds} round(s); clients in a separate process"));
        }
        var results = new List<TransportResult>();
        for (int round = 0; round < rounds; round++)
        {
            // Each round starts with a different transport, so a slow phase of the machine does not always hit the same one.
            for (int k = 0; k < transports.Count; k++)
            {
                string name = transports[(k + round) % transports.Count];
                TransportResult r = await RunOneAsync(name, connections, seconds, messageSize, cancel).ConfigureAwait(false);
                results.Add(r);
                if (json)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{{\"transport\":\"{r.Transport}\",\"round\":{round + 1},\"connections\":{r.Connections},\"messagesPerSecond\":{r.MessagesPerSecond:F0},\"cpuNsPerMessage\":{r.CpuNsPerMessage:F0},\"bufferBytes\":{r.BufferBytes},\"gen0Collections\":{r.Gen0},\"messages\":{r.Messages},\"cpuSeconds\":{r.CpuSeconds:F3},\"seconds\":{r.Seconds:F3},\"clientErrors\":{r.ClientErrors}}}"));
                }
            }
        }
        if (!json)
        {
            Console.WriteLine();
            Console.WriteLine("| transport | round | connections | messages/s | server CPU ns/message | bufferBytes | gen0 |");
            Console.WriteLine("|-----------|------:|------------:|-----------:|----------------------:|------------:|-----:|");
            for (int i = 0; i < results.Count; i++)
            {
                TransportResult r = results[i];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Transport,-9} | {i / transports.Count + 1,5} | {r.Connections,11:N0} | {r.MessagesPerSecond,10:N0} | {r.CpuNsPerMessage,21:N0} | {r.BufferBytes,11:N0} | {r.Gen0,4} |"));
            }
            Console.WriteLine();
            foreach (string name in transports)
            {
                TransportResult r = results.Find(x => x.Transport == name)!;
                Console.WriteLine($"{name}: {r.Description}");
            }
        }
        bool ok = true;
        foreach (TransportResult r in results)
        {
            if (r.ClientErrors != 0 || r.Messages == 0 || r.Connections != connections)
            {
                Console.Error.WriteLine($"FAIL: {r.Transport}: {r.ClientErrors} client errors, {r.Messages} messages, {r.Connections} of {connections} connections");
                ok = false;
            }
        }
        return ok ? 0 : 1;
    }

    private static async Task<TransportResult> RunOneAsync(string name, int connections, double seconds, int messageSize, CancellationToken cancel)
    {
        using EchoTransport server = EchoTransport.Create(name);
        server.Start();
        using Process client = StartClient(server.EndPoint, connections, seconds, messageSize);
        Task<string> errors = client.StandardError.ReadToEndAsync(cancel);
        string? line;
        while ((line = await client.StandardOutput.ReadLineAsync(cancel).ConfigureAwait(false)) is not null && line != "ready")
        {
        }
        if (line is null)
        {
            throw new InvalidOperationException($"the client process ended before connecting: {await errors.ConfigureAwait(false)}");
        }
        // The clients are connected and about to start: measure from here to their "done".
        long bytes0 = server.BytesEchoed;
        TimeSpan cpu0 = Environment.CpuUsage.TotalTime;
        int gen0 = GC.CollectionCount(0);
        var clock = Stopwatch.StartNew();
        int connected = server.Connections;
        line = await client.StandardOutput.ReadLineAsync(cancel).ConfigureAwait(false);
        double elapsed = clock.Elapsed.TotalSeconds;
        TimeSpan cpu1 = Environment.CpuUsage.TotalTime;
        long bytes1 = server.BytesEchoed;
        int gen0Delta = GC.CollectionCount(0) - gen0;
        long bufferBytes = server.BufferBytes;
        if (line is null || !line.StartsWith("done ", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"the client process failed: {line} {await errors.ConfigureAwait(false)}");
        }
        string[] parts = line.Split(' ');
        long clientMessages = long.Parse(parts[1], CultureInfo.InvariantCulture);
        long clientErrors = long.Parse(parts[2], CultureInfo.InvariantCulture);
        await client.WaitForExitAsync(cancel).ConfigureAwait(false);
        string description = server.Description;
        server.Stop();
        return new TransportResult(name, description, connected, elapsed, (bytes1 - bytes0) / messageSize,
                                   (cpu1 - cpu0).TotalSeconds, bufferBytes, gen0Delta, clientMessages, clientErrors);
    }

    private static Process StartClient(IPEndPoint server, int connections, double seconds, int messageSize)
    {
        // The same program in --client mode: through the dotnet host when this process runs as "dotnet PipelinesEcho.dll".
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var info = new ProcessStartInfo(self)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(TransportRuns).Assembly.Location);
        }
        foreach (string arg in new[]
                 {
                     "--client", server.ToString(), "--connections", connections.ToString(CultureInfo.InvariantCulture),
                     "--seconds", seconds.ToString(CultureInfo.InvariantCulture), "--message-size", messageSize.ToString(CultureInfo.InvariantCulture),
                 })
        {
            info.ArgumentList.Add(arg);
        }
        return Process.Start(info) ?? throw new InvalidOperationException("could not start the client process");
    }

    // ==================================================================== --client

    /// <summary>
    /// Opens <paramref name="connections"/> connections, prints <c>ready</c>, then on every connection sends a message and
    /// waits for its echo, again and again, for <paramref name="seconds"/>; prints <c>done MESSAGES ERRORS</c> and closes.
    /// </summary>
    public static async Task<int> ClientAsync(IPEndPoint server, int connections, double seconds, int messageSize, CancellationToken cancel)
    {
        var sockets = new Socket[connections];
        const int ConnectBatch = 100;
        for (int i = 0; i < connections; i += ConnectBatch)
        {
            var batch = new List<Task>();
            for (int k = i; k < Math.Min(connections, i + ConnectBatch); k++)
            {
                sockets[k] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                batch.Add(sockets[k].ConnectAsync(server, cancel).AsTask());
            }
            await Task.WhenAll(batch).ConfigureAwait(false);
        }
        // Let the server take every connection in before the clock starts.
        await Task.Delay(200, cancel).ConfigureAwait(false);
        Console.WriteLine("ready");
        Console.Out.Flush();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var loops = new Task<(long Messages, long Errors)>[connections];
        for (int i = 0; i < connections; i++)
        {
            loops[i] = PingPongAsync(sockets[i], i, messageSize, stop.Token);
        }
        (long Messages, long Errors)[] outcomes = await Task.WhenAll(loops).ConfigureAwait(false);
        long messages = 0, errors = 0;
        foreach ((long m, long e) in outcomes)
        {
            messages += m;
            errors += e;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done {messages} {errors}"));
        Console.Out.Flush();
        foreach (Socket s in sockets)
        {
            s.Dispose();
        }
        return errors == 0 ? 0 : 1;
    }

    private static async Task<(long, long)> PingPongAsync(Socket socket, int connection, int messageSize, CancellationToken stop)
    {
        byte[] message = new byte[messageSize];
        byte[] echo = new byte[messageSize];
        long count = 0;
        try
        {
            await Task.Yield();
            while (!stop.IsCancellationRequested)
            {
                BitConverter.TryWriteBytes(message, count);
                BitConverter.TryWriteBytes(message.AsSpan(8), connection);
                await ManagedSocketEchoTransport.SendAllAsync(socket, message, CancellationToken.None).ConfigureAwait(false);
                int got = 0;
                while (got < messageSize)
                {
                    int n = await socket.ReceiveAsync(echo.AsMemory(got), SocketFlags.None, CancellationToken.None).ConfigureAwait(false);
                    if (n == 0)
                    {
                        return (count, 1);
                    }
                    got += n;
                }
                if (!echo.AsSpan().SequenceEqual(message))
                {
                    return (count, 1);
                }
                count++;
            }
            return (count, 0);
        }
        catch (SocketException)
        {
            return (count, 1);
        }
    }

    // ==================================================================== --self-test --transport X

    /// <summary>
    /// The self-test through one of the transports: every connection sends its share of a known stream and checks every
    /// byte of the echo. For io_uring, the receive pool must hold every page at the end and never have reserved more
    /// than PoolSize × PageSize, whatever the number of connections.
    /// </summary>
    public static async Task<int> SelfTestAsync(string name, long megabytes, int connections, bool json, CancellationToken cancel)
    {
        long bytes = megabytes * 1024 * 1024;
        long perConnection = Math.Max(1, bytes / connections);
        var server = EchoTransport.Create(name);
        server.Start();
        if (!json)
        {
            Console.WriteLine($"self-test: {perConnection * connections:N0} bytes through the {server.Description} transport over {connections} loopback connection(s)");
        }
        var clock = Stopwatch.StartNew();
        var clients = new Task<(long Verified, long Mismatches)>[connections];
        for (int i = 0; i < connections; i++)
        {
            clients[i] = SelfTest.ClientAsync(server.EndPoint, perConnection, cancel);
        }
        (long Verified, long Mismatches)[] outcomes = await Task.WhenAll(clients).ConfigureAwait(false);
        double seconds = clock.Elapsed.TotalSeconds;
        // The clients have their echoes; the server sees each close a moment later.
        long deadline = Environment.TickCount64 + 10_000;
        while (server.Connections > 0 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10, cancel).ConfigureAwait(false);
        }
        long echoed = server.BytesEchoed;
        string description = server.Description;
        server.Dispose();
        (long bytesReserved, int pagesInUse, long poolBytes) = server.PoolState;
        if (server is IoUringEchoTransport ring)
        {
            ring.DestroyPool();
        }

        long verified = 0, mismatches = 0;
        foreach ((long v, long m) in outcomes)
        {
            verified += v;
            mismatches += m;
        }
        long sent = perConnection * connections;
        bool bytesOk = verified == sent && mismatches == 0 && echoed == sent;
        bool poolOk = pagesInUse == 0 && bytesReserved <= poolBytes;
        if (json)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"transport\":\"{name}\",\"connections\":{connections},\"sentBytes\":{sent},\"echoedBytes\":{echoed},\"verifiedBytes\":{verified},\"mismatches\":{mismatches},\"bytesReserved\":{bytesReserved},\"poolBytes\":{poolBytes},\"pagesInUse\":{pagesInUse},\"seconds\":{seconds:F3},\"passed\":{(bytesOk && poolOk ? "true" : "false")}}}"));
        }
        else
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"sent {sent:N0} bytes, echoed {echoed:N0}, verified {verified:N0}, {mismatches:N0} mismatches in {seconds:F2} s; receive pool: {bytesReserved:N0} bytes reserved of {poolBytes:N0}, {pagesInUse} pages in use at exit"));
        }
        if (!bytesOk)
        {
            Console.Error.WriteLine($"FAIL: {verified:N0} of {sent:N0} bytes verified, {echoed:N0} echoed, {mismatches:N0} mismatches");
            return 1;
        }
        if (!poolOk)
        {
            Console.Error.WriteLine($"FAIL: {pagesInUse} pages not returned, or {bytesReserved:N0} bytes reserved for a {poolBytes:N0}-byte pool");
            return 2;
        }
        if (!json)
        {
            Console.WriteLine($"PASS: every byte verified over {connections} connections, every page returned");
        }
        return 0;
    }
}
