using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace PagePool.Internal;

/// <summary>
/// Allocation sites of tracked pages (all, or one in 64). Recording allocates a stack trace: it is a debugging aid
/// the user turns on, never on by default. Track runs in the owner context; Untrack on any recycling thread.
/// </summary>
internal sealed class LeakTracker
{
    private readonly Record?[] _records;
    private readonly bool _sampled;
    private uint _tick;

    public LeakTracker(int poolSize, PageLeakTracking mode)
    {
        _records = new Record?[poolSize];
        _sampled = mode == PageLeakTracking.Sampled;
    }

    public void Track(int id)
    {
        if (_sampled && (++_tick % PagePoolDefaults.LeakSampleInterval) != 0)
        {
            return;
        }
        Volatile.Write(ref _records[id], new Record(Stopwatch.GetTimestamp(), new StackTrace(2, fNeedFileInfo: true)));
    }

    public void Untrack(int id)
    {
        if (_records[id] is not null)
        {
            Volatile.Write(ref _records[id], null);
        }
    }

    public List<PageLeak> Collect(string poolName, TimeSpan minAge, Func<int, bool> isOut)
    {
        var leaks = new List<PageLeak>();
        long now = Stopwatch.GetTimestamp();
        for (int id = 0; id < _records.Length; id++)
        {
            Record? record = Volatile.Read(ref _records[id]);
            if (record is null || !isOut(id))
            {
                continue;
            }
            TimeSpan age = Stopwatch.GetElapsedTime(record.Timestamp, now);
            if (age >= minAge)
            {
                leaks.Add(new PageLeak(id, poolName, age, record.Trace.ToString()));
            }
        }
        leaks.Sort(static (a, b) => b.Age.CompareTo(a.Age));
        return leaks;
    }

    private sealed record Record(long Timestamp, StackTrace Trace);
}
