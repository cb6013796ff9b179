namespace PagePool.Benchmarks;

/// <summary>The generated pool the benchmarks measure: every size a constant in the emitted fast path.</summary>
[PagePool(Sizes.Buffer, Sizes.PoolSize)]
internal sealed partial class BenchPagePool
{
}
