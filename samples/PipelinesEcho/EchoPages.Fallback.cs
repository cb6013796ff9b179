#if !PAGEPOOL_GENERATOR
using System.Buffers;
using PagePool;

namespace PipelinesEcho;

// Stand-in for what [PagePool(4096, 1024)] generates, used only until the generator is part of the build.
internal sealed partial class EchoPages
{
    public const int PageSize = 4096;
    public const int PoolSize = 1024;

    private readonly RuntimePagePool _pool = new(new PagePoolOptions { PageSize = PageSize, PoolSize = PoolSize, Name = nameof(EchoPages) });

    public int PagesInUse => _pool.PagesInUse;

    public PagePoolStats GetPageStats() => _pool.GetPageStats();

    public MemoryPool<byte> AsMemoryPool() => _pool.AsMemoryPool();

    public void DestroyPagePool() => _pool.DestroyPagePool();
}
#endif
