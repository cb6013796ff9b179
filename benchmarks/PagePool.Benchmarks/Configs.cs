using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using Perfolizer.Horology;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;

namespace PagePool.Benchmarks;

/// <summary>Shared by both configs: memory columns, median, ratio against the baseline, GitHub markdown.</summary>
internal static class ConfigParts
{
    public static ManualConfig Apply(ManualConfig config)
    {
        config.AddDiagnoser(MemoryDiagnoser.Default);
        config.AddColumn(StatisticColumn.Median);
        // Min: the least disturbed iteration, the most telling figure on a busy machine (other builds preempt the run).
        config.AddColumn(StatisticColumn.Min);
        config.WithSummaryStyle(SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend));
        config.WithOrderer(new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared));
        config.WithOptions(ConfigOptions.DisableLogFile);
        // The benchmark project is rebuilt in Release by BenchmarkDotNet; on 2 busy cores that can take minutes.
        config.WithBuildTimeout(System.TimeSpan.FromMinutes(10));
        return config;
    }
}

/// <summary>
/// <c>--quick</c>: one launch, 3 warmup and 8 measured iterations of about 150 ms each. Ratios are stable enough
/// to compare peers; absolute numbers drift more than with <see cref="FullConfig"/>.
/// </summary>
public sealed class QuickConfig : ManualConfig
{
    public QuickConfig()
    {
        Add(DefaultConfig.Instance);
        AddJob(Job.Default
            .WithId("Quick")
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(8)
            .WithIterationTime(TimeInterval.FromMilliseconds(150)));
        ConfigParts.Apply(this);
    }
}

/// <summary>The default: BenchmarkDotNet's own job with the same columns.</summary>
public sealed class FullConfig : ManualConfig
{
    public FullConfig()
    {
        Add(DefaultConfig.Instance);
        AddJob(Job.Default.WithId("Full"));
        ConfigParts.Apply(this);
    }
}

/// <summary><c>--smoke</c>: BenchmarkDotNet's Dry job (one invocation each), to check that every benchmark runs.</summary>
public sealed class SmokeConfig : ManualConfig
{
    public SmokeConfig()
    {
        Add(DefaultConfig.Instance);
        AddJob(Job.Dry.WithId("Smoke"));
        ConfigParts.Apply(this);
    }
}
