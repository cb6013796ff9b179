using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using PagePool;
using PagePool.Benchmarks;

namespace CrossThreadRuns;

/// <summary>The generated pool of the program: 4 KiB pages, at most 1024 of them, every size a constant.</summary>
[PagePool(Program.Buffer, Program.PoolSize)]
internal sealed partial class RunsPool
{
}

/// <summary>
/// One process of benchmarks/crossthread-runs.sh. An owner thread takes a 4 KiB buffer, writes a byte and hands it
/// through a bounded SPSC ring to a worker thread, which writes a byte and gives it back, for each row in turn:
/// the generated pool (RecyclePage on the worker), RuntimePagePool, a Kestrel-style ConcurrentQueue of pinned arrays,
/// and the bare handoff with no pool. Rows alternate within the process; each row's time is the best of its rounds.
/// </summary>
/// <remarks>
/// Settings, from the environment (all optional):
/// CTR_ROUNDS (5), CTR_ITEMS (buffers per round, 200000), CTR_ROWS (comma-separated subset of
/// generated,runtime,queue,bare,arraypool,bare-cas), CTR_PIN (none | split: owner on CPU 0 and worker on CPU 1 | same: both
/// on CPU 0), CTR_PREGROW (pages each pool creates before the rounds; 0), CTR_LAYOUT=1 (print the addresses of each row's structures, modulo 64, 128 and 4096, after the rounds).
/// </remarks>
internal static class Program
{
    public const int Buffer = 4096;
    public const int PoolSize = 1024;
    private const int RingCapacity = 256;

    private static int Main()
    {
        int rounds = EnvInt("CTR_ROUNDS", 5);
        int items = EnvInt("CTR_ITEMS", 200_000);
        string pin = Environment.GetEnvironmentVariable("CTR_PIN") ?? "none";
        string[] selected = (Environment.GetEnvironmentVariable("CTR_ROWS") ?? "generated,runtime,queue,bare")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool layout = Environment.GetEnvironmentVariable("CTR_LAYOUT") == "1";

        if (pin is "split" or "same")
        {
            Native.Pin(0);
        }
        var worker = new Worker(pin == "split" ? 1 : pin == "same" ? 0 : -1);

        var pool = new RunsPool();
        var runtime = new RuntimePagePool(new PagePoolOptions { PageSize = Buffer, PoolSize = PoolSize, Name = "runs" });
        var queue = new PinnedBlockQueue(prefill: RingCapacity);
        // Experiment (CTR_PREGROW=N): create N pages in each pool before the rounds, so the pools start with slack
        // beyond what the handoff ring holds.
        int pregrow = EnvInt("CTR_PREGROW", 0);
        if (pregrow > 0)
        {
            var pages = new Page[pregrow];
            for (int i = 0; i < pregrow; i++)
            {
                pages[i] = pool.AllocPage();
            }
            pool.RecyclePages(pages);
            for (int i = 0; i < pregrow; i++)
            {
                pages[i] = runtime.AllocPage();
            }
            runtime.RecyclePages(pages);
        }
        var all = new Dictionary<string, Row>
        {
            ["generated"] = new Row<Page, GeneratedPeer>("generated", new GeneratedPeer(pool)),
            ["runtime"] = new Row<Page, RuntimePeer>("runtime", new RuntimePeer(runtime)),
            ["queue"] = new Row<byte[], QueuePeer>("queue", new QueuePeer(queue)),
            ["bare"] = new Row<nint, BarePeer>("bare", new BarePeer(RingCapacity)),
            ["arraypool"] = new Row<byte[], ArrayPoolPeer>("arraypool", default),
            ["bare-cas"] = new Row<nint, BareCasPeer>("bare-cas", new BareCasPeer(RingCapacity)),
        };
        Row[] rows = selected.Select(name => all.TryGetValue(name, out Row? row)
            ? row : throw new ArgumentException($"CTR_ROWS: unknown row '{name}'")).ToArray();

        // Warm-up: pages carved, pools grown, both threads past their first slow paths, and the code at its final
        // tier. Tiered compilation promotes a method only after its calls were counted, and counting starts 100 ms
        // after the last new tier-0 method ran (DOTNET_TC_CallCountingDelayMs), so "a pass compiled nothing" proves
        // nothing unless the passes span that delay: they go on until no method was compiled for WarmUpQuietMs of
        // passes. (A warm-up that stopped at three passes, 60 ms, measured tier-0 code for the rounds' first half.)
        const int WarmUpQuietMs = 500;
        var clock = Stopwatch.StartNew();
        int passes = 0;
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        long quietSince = 0;
        while (passes < 1000)
        {
            foreach (Row row in rows)
            {
                row.Measure(worker, Math.Min(items, 50_000));
            }
            passes++;
            Thread.Sleep(1); // room for the background compiler: under --rt both threads spin at FIFO priority
            long now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != compiled)
            {
                compiled = now;
                quietSince = clock.ElapsedMilliseconds;
            }
            else if (passes >= 3 && clock.ElapsedMilliseconds - quietSince >= WarmUpQuietMs)
            {
                break;
            }
        }

        var allocated = new long[rows.Length]; // per row: bytes allocated by any thread during its rounds
        var best = new double[rows.Length];
        var bestState = new string[rows.Length];
        Array.Fill(best, double.MaxValue);
        var perRound = new List<string>();
        for (int r = 0; r < rounds; r++)
        {
            var line = new List<string>();
            for (int k = 0; k < rows.Length; k++)
            {
                int i = (k + r) % rows.Length; // a different row first in each round
                long before = GC.GetTotalAllocatedBytes(precise: true);
                double ns = rows[i].Measure(worker, items);
                allocated[i] += GC.GetTotalAllocatedBytes(precise: true) - before;
                if (ns < best[i])
                {
                    best[i] = ns;
                    bestState[i] = rows[i].State;
                }
                line.Add($"{rows[i].Name}={ns:F1}[{worker.LastRound}{rows[i].PoolNote}]");
            }
            perRound.Add(string.Join(' ', line));
        }

        var inv = CultureInfo.InvariantCulture;
        foreach (string round in perRound)
        {
            Console.WriteLine($"round {round}");
        }
        Console.WriteLine("cpus owner=" + string.Join(',', worker.OwnerCpus.Order()) +
            " worker=" + string.Join(',', worker.WorkerCpus.Order()) +
            $" same-cpu-samples={worker.SameCpuSamples}/{worker.Samples} pin={pin}" +
            " bytes-allocated-in-rounds " + string.Join(' ', rows.Select((row, i) => $"{row.Name}={allocated[i]}")) +
            $" warm-up-passes={passes} warm-up-ms={clock.ElapsedMilliseconds}");
        // The line benchmarks/crossthread-runs.sh parses: best ns per buffer of each row.
        Console.WriteLine("RESULT " + string.Join(' ', rows.Select((row, i) => row.Name + "=" + best[i].ToString("F1", inv))));
        // Which steady state each row's best round was in (see benchmarks/results/CROSSTHREAD-MODES.md).
        Console.WriteLine("STATE " + string.Join(' ', rows.Select((row, i) => row.Name + "=" + bestState[i])));

        if (layout)
        {
            foreach (Row row in rows)
            {
                Layout.Print(row.Name, row);
            }
        }

        worker.Stop();
        pool.DestroyPagePool();
        runtime.DestroyPagePool();
        return 0;
    }

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) && value > 0 ? value : fallback;
}

/// <summary>What each row does with a buffer: take one and write a byte (owner), write a byte and give it back (worker).</summary>
internal interface IPeer<T>
{
    T Take(int i);

    void Give(T item, int i);

    /// <summary>The pool's counters, for the round reports (pools only).</summary>
    PagePoolStats? Stats { get; }
}

internal readonly struct GeneratedPeer(RunsPool pool) : IPeer<Page>
{
    public PagePoolStats? Stats => pool.GetPageStats();

    public Page Take(int i)
    {
        Page page = pool.AllocPage();
        page.Span[0] = (byte)i;
        return page;
    }

    public void Give(Page item, int i)
    {
        item.Span[1] = (byte)i;
        pool.RecyclePage(item);
    }
}

internal readonly struct RuntimePeer(RuntimePagePool pool) : IPeer<Page>
{
    public PagePoolStats? Stats => pool.GetPageStats();

    public Page Take(int i)
    {
        Page page = pool.AllocPage();
        page.Span[0] = (byte)i;
        return page;
    }

    public void Give(Page item, int i)
    {
        item.Span[1] = (byte)i;
        pool.RecyclePage(item);
    }
}

internal readonly struct QueuePeer(PinnedBlockQueue queue) : IPeer<byte[]>
{
    public PagePoolStats? Stats => null;

    public byte[] Take(int i)
    {
        byte[] block = queue.Rent();
        block[0] = (byte)i;
        return block;
    }

    public void Give(byte[] item, int i)
    {
        item[1] = (byte)i;
        queue.Return(item);
    }
}

internal readonly struct ArrayPoolPeer : IPeer<byte[]>
{
    public PagePoolStats? Stats => null;

    public byte[] Take(int i)
    {
        byte[] block = ArrayPool<byte>.Shared.Rent(Program.Buffer);
        block[0] = (byte)i;
        return block;
    }

    public void Give(byte[] item, int i)
    {
        item[1] = (byte)i;
        ArrayPool<byte>.Shared.Return(item);
    }
}

/// <summary>No pool: buffers are the pages of one pinned slab, taken in turn; giving one back does nothing.</summary>
internal readonly unsafe struct BarePeer(int pages) : IPeer<nint>
{
    private readonly byte[] _slab = GC.AllocateUninitializedArray<byte>(pages * Program.Buffer, pinned: true);
    private readonly int _mask = pages - 1;

    public nint Take(int i)
    {
        byte* page = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_slab)) + (i & _mask) * Program.Buffer;
        page[0] = (byte)i;
        return (nint)page;
    }

    public void Give(nint item, int i) => ((byte*)item)[1] = (byte)i;

    public PagePoolStats? Stats => null;
}

/// <summary>Experiment: the bare handoff plus one locked instruction per buffer on a line only the worker writes.</summary>
internal readonly unsafe struct BareCasPeer(int pages) : IPeer<nint>
{
    private readonly BarePeer _bare = new(pages);
    private readonly long[] _counter = new long[32];

    public nint Take(int i) => _bare.Take(i);

    public void Give(nint item, int i)
    {
        ((byte*)item)[1] = (byte)i;
        Interlocked.Increment(ref _counter[16]);
    }

    public PagePoolStats? Stats => null;
}

internal abstract class Row(string name)
{
    public string Name { get; } = name;

    /// <summary>Owner: sends <paramref name="items"/> buffers and waits until the worker gave the last one back. Returns ns per buffer.</summary>
    public abstract double Measure(Worker worker, int items);

    /// <summary>Worker: takes <paramref name="items"/> buffers off the ring and gives each back.</summary>
    public abstract void Consume(int items);

    /// <summary>
    /// The last round's steady state: "worker-bound" when the owner found the handoff ring full for more than a tenth
    /// of the buffers (the worker was the bottleneck), else "owner-bound".
    /// </summary>
    public string State { get; protected set; } = "";

    protected long _lastFull;
    protected long _lastEmpty;
    protected (long Created, long PoolEmpty, long Refills, int Items)? _lastStats;

    /// <summary>The last round's waits on the handoff ring; for pools, pages created so far and allocations per refill from the return ring.</summary>
    public string PoolNote =>
        $" full {_lastFull} empty {_lastEmpty}" + (_lastStats is { } s
            ? $" created {s.Created} pool-empty {s.PoolEmpty} per-refill {(s.Refills == 0 ? 0 : s.Items / (double)s.Refills):F1}"
            : "");
}

internal sealed class Row<T, TPeer>(string name, TPeer peer) : Row(name) where TPeer : struct, IPeer<T>
{
    private readonly SpscRing<T> _ring = new(256);
    private readonly TPeer _peer = peer;

    public override double Measure(Worker worker, int items)
    {
        SpscRing<T> ring = _ring;
        TPeer peer = _peer;
        PagePoolStats? before = peer.Stats;
        _fullWaits = 0;
        _emptyWaits = 0;
        worker.Post(this, items);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < items; i++)
        {
            T item = peer.Take(i);
            if (!ring.TryEnqueue(item))
            {
                SendSlow(ring, item);
            }
        }
        worker.WaitDone();
        long ticks = Stopwatch.GetTimestamp() - start;
        worker.EndRound();
        // Numbers only here: the notes are formatted when printed, so the rounds allocate nothing of their own.
        _lastFull = _fullWaits;
        _lastEmpty = Volatile.Read(ref _emptyWaits);
        State = _fullWaits > items / 10 ? "worker-bound" : "owner-bound";
        _lastStats = before is { } b && peer.Stats is { } a
            ? (a.PagesCreated, a.AllocEmpty - b.AllocEmpty, a.AllocRefill - b.AllocRefill, items)
            : null;
        return ticks * (1e9 / Stopwatch.Frequency) / items;
    }

    // CTR_RESUME=N (experiment): once the owner finds the handoff ring full, it waits until N slots are free, then
    // goes on as before (benchmarks/results/CROSSTHREAD-MODES.md, evidence 4).
    private static readonly int ResumeAt = int.TryParse(Environment.GetEnvironmentVariable("CTR_RESUME"), out int n) ? n : 0;
    private long _fullWaits;   // owner: times the ring was full (the worker is the bottleneck)
    private long _emptyWaits;  // worker: times the ring was empty (the owner is the bottleneck)

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void SendSlow(SpscRing<T> ring, T item)
    {
        _fullWaits++;
        SpinWait spin = default;
        if (ResumeAt > 1)
        {
            while (!ring.HasFree(ResumeAt))
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        while (!ring.TryEnqueue(item))
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    public override void Consume(int items)
    {
        SpscRing<T> ring = _ring;
        TPeer peer = _peer;
        SpinWait spin = default;
        for (int i = 0; i < items;)
        {
            if (ring.TryDequeue(out T item))
            {
                peer.Give(item, i);
                i++;
                spin.Reset();
            }
            else
            {
                _emptyWaits++;
                Spin(ref spin);
            }
        }
    }

    // Out of line, so that every row's worker loop is compiled alike: inlined, SpinWait brings a P/Invoke frame and
    // its yield paths into the loop, and the JIT did that for some rows and not for others.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Spin(ref SpinWait spin) => spin.SpinOnce(sleep1Threshold: -1);
}

/// <summary>
/// The one worker thread every row uses: it waits (spinning, yielding) for a posted row, consumes that round's
/// buffers and says when it is done. Samples which CPU each thread ran on at the start and end of each round.
/// </summary>
internal sealed class Worker
{
    private readonly Thread _thread;
    private readonly int _cpu;
    private Row? _job;           // written by the owner, cleared by the worker when the round is done
    private int _items;
    private volatile bool _stop;
    private volatile int _workerCpu = -1;

    public HashSet<int> OwnerCpus { get; } = new();
    public HashSet<int> WorkerCpus { get; } = new();
    public int Samples { get; private set; }
    public int SameCpuSamples { get; private set; }

    public Worker(int cpu)
    {
        _cpu = cpu;
        _thread = new Thread(Run) { IsBackground = true, Name = "runs worker" };
        _thread.Start();
    }

    /// <summary>
    /// The last round's placement and context switches: "s" both threads on the same CPU at its start and end, "d" on
    /// different ones, "m" mixed; then each thread's context switches (voluntary + involuntary) during the round.
    /// </summary>
    public string LastRound => (_startSame && _endSame ? "s" : !_startSame && !_endSame ? "d" : "m") + $" cs {_ownerRoundSwitches}/{_workerRoundSwitches}";

    public void Post(Row row, int items)
    {
        _items = items;
        _ownerSwitches = Native.ContextSwitches();
        Volatile.Write(ref _job, row);
        _startSame = Sample();
    }

    public void WaitDone()
    {
        SpinWait spin = default;
        while (Volatile.Read(ref _job) != null)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>Owner, after the round's clock stopped: where the threads are, how often the owner was switched out.</summary>
    public void EndRound()
    {
        _endSame = Sample();
        _ownerRoundSwitches = Native.ContextSwitches() - _ownerSwitches;
    }

    private bool _startSame;
    private bool _endSame;
    private long _ownerSwitches;
    private long _ownerRoundSwitches;
    private long _workerRoundSwitches;

    private bool Sample()
    {
        int owner = Native.CurrentCpu();
        int worker = _workerCpu;
        OwnerCpus.Add(owner);
        WorkerCpus.Add(worker);
        Samples++;
        if (owner == worker)
        {
            SameCpuSamples++;
        }
        return owner == worker;
    }

    public void Stop()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        if (_cpu >= 0)
        {
            Native.Pin(_cpu);
        }
        SpinWait spin = default;
        while (!_stop)
        {
            Row? job = Volatile.Read(ref _job);
            if (job == null)
            {
                _workerCpu = Native.CurrentCpu();
                spin.SpinOnce(sleep1Threshold: -1);
                continue;
            }
            _workerCpu = Native.CurrentCpu();
            long switches = Native.ContextSwitches();
            job.Consume(_items);
            _workerRoundSwitches = Native.ContextSwitches() - switches;
            _workerCpu = Native.CurrentCpu();
            Volatile.Write(ref _job, null);
            spin.Reset();
        }
    }
}

internal static partial class Native
{
    [LibraryImport("libc", EntryPoint = "sched_getcpu")]
    private static partial int SchedGetCpu();

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nint size, ref ulong mask);

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static unsafe partial int GetRUsage(int who, long* usage);

    public static int CurrentCpu() => OperatingSystem.IsLinux() ? SchedGetCpu() : -1;

    /// <summary>The calling thread's context switches so far, voluntary and involuntary (Linux getrusage(RUSAGE_THREAD)); -1 elsewhere.</summary>
    public static unsafe long ContextSwitches()
    {
        if (!OperatingSystem.IsLinux())
        {
            return -1;
        }
        long* usage = stackalloc long[18]; // struct rusage on 64-bit Linux: two timevals, then 14 longs
        return GetRUsage(1, usage) == 0 ? usage[16] + usage[17] : -1;
    }

    /// <summary>Pins the calling thread to one CPU (Linux: pid 0 is the calling thread).</summary>
    public static void Pin(int cpu)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("CTR_PIN needs Linux.");
        }
        ulong mask = 1UL << cpu;
        if (SchedSetAffinity(0, sizeof(ulong), ref mask) != 0)
        {
            throw new InvalidOperationException($"sched_setaffinity({cpu}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}

/// <summary>
/// CTR_LAYOUT=1: walks a row's objects by reflection (no names assumed, so it follows the engine as it changes) and
/// prints where each array's data, each object and each struct field sits, modulo 64, 128 and 4096.
/// </summary>
internal static unsafe class Layout
{
    public static void Print(string rowName, object root) => Walk(rowName, root, 0, new HashSet<object>(ReferenceEqualityComparer.Instance));

    private static void Walk(string path, object obj, int depth, HashSet<object> seen)
    {
        if (!seen.Add(obj) || depth > 4)
        {
            return;
        }
        object local = obj;
        nint address = *(nint*)Unsafe.AsPointer(ref local);
        Console.WriteLine($"layout {path} object {Format(address)} gen={GC.GetGeneration(obj)} type={obj.GetType().Name}");
        for (Type? type = obj.GetType(); type != null && type != typeof(object); type = type.BaseType)
        {
            foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                Type ft = field.FieldType;
                string name = path + "." + field.Name;
                if (ft.IsArray)
                {
                    if (field.GetValue(obj) is Array array)
                    {
                        PrintArray(name, array);
                    }
                }
                else if (ft.IsValueType && !ft.IsPrimitive && !ft.IsEnum && !ft.IsPointer)
                {
                    TypedReference tr = TypedReference.MakeTypedReference(obj, new[] { field });
#pragma warning disable CS8500 // a TypedReference starts with the field's address
                    nint at = *(nint*)&tr;
#pragma warning restore CS8500
                    int size = RuntimeHelpers.SizeOf(ft.TypeHandle);
                    Console.WriteLine($"layout {name} struct {Format(at)} size={size} offset={at - address - sizeof(nint)} type={ft.Name}");
                    // References inside the struct (a peer's pool, for instance): follow them.
                    object? boxed = field.GetValue(obj);
                    if (boxed != null)
                    {
                        foreach (FieldInfo inner in ft.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
                        {
                            if (!inner.FieldType.IsValueType && inner.GetValue(boxed) is { } target)
                            {
                                Follow(name + "." + inner.Name, target, depth, seen);
                            }
                        }
                    }
                }
                else if (!ft.IsValueType && field.GetValue(obj) is { } target)
                {
                    Follow(name, target, depth, seen);
                }
            }
        }
    }

    private static void Follow(string name, object target, int depth, HashSet<object> seen)
    {
        if (target is Array array)
        {
            PrintArray(name, array);
        }
        else if (target.GetType().Namespace is { } ns && (ns.StartsWith("PagePool", StringComparison.Ordinal) || ns.StartsWith("CrossThreadRuns", StringComparison.Ordinal) || ns.StartsWith("System.Collections.Concurrent", StringComparison.Ordinal)))
        {
            Walk(name, target, depth + 1, seen);
        }
    }

    private static void PrintArray(string name, Array array)
    {
        nint data = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        Type element = array.GetType().GetElementType()!;
        int size = element.IsValueType ? RuntimeHelpers.SizeOf(element.TypeHandle) : sizeof(nint);
        Console.WriteLine($"layout {name} array-data {Format(data)} bytes={(long)array.Length * size} gen={GC.GetGeneration(array)} element={element.Name}");
    }

    private static string Format(nint address) =>
        $"0x{address:x} %64={address % 64} %128={address % 128} %4096={address % 4096}";
}
