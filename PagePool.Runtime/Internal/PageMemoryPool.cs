using System;
using System.Buffers;
using System.ComponentModel;
using System.Threading;

namespace PagePool.Internal;

/// <summary>
/// A pool's pages as a thread-safe <see cref="MemoryPool{T}"/> (for System.IO.Pipelines and socket transports).
/// Rent allocates under a lock (the owner context), Dispose of the returned owner recycles the page through the ring.
/// The <see cref="IMemoryOwner{T}"/> objects are recycled with their pages, so renting allocates nothing in steady state.
/// </summary>
/// <remarks>
/// While a pool is used through this adapter, allocate from it only through the adapter. When every page is out,
/// Rent hands out an unpooled array (as Kestrel's pool does) rather than failing the pipe; <see cref="UnpooledRents"/> counts them.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public abstract class PageMemoryPool : MemoryPool<byte>
{
    private readonly PagePoolCore _core;
    private readonly PageOwner?[] _owners;
    private readonly object _lock = new();
    private long _unpooledRents;

    private protected PageMemoryPool(PagePoolCore core)
    {
        _core = core;
        _owners = new PageOwner?[core.PoolSize];
    }

    /// <summary>
    /// The adapter of a pool, created once: <paramref name="field"/> is the pool's field that keeps it, set here unless
    /// a racing call set it first.
    /// </summary>
    public static MemoryPool<byte> Create<T>(ref MemoryPool<byte>? field, PagePoolCore core, T callbacks)
        where T : struct, IPagePoolCallbacks
    {
        ArgumentNullException.ThrowIfNull(core);
        MemoryPool<byte> created = new Adapter<T>(core, callbacks);
        return Interlocked.CompareExchange(ref field, created, null) ?? created;
    }

    /// <inheritdoc/>
    public override int MaxBufferSize => _core.PageSize;

    /// <summary>Rents that found every page out and got an unpooled array instead.</summary>
    public long UnpooledRents => Interlocked.Read(ref _unpooledRents);

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minBufferSize"/> is larger than a page.</exception>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > MaxBufferSize)
        {
            throw new ArgumentOutOfRangeException(nameof(minBufferSize), minBufferSize,
                $"Page pool '{_core.Name}' rents pages of {MaxBufferSize} bytes; ask for at most that.");
        }
        Page page;
        bool got;
        lock (_lock)
        {
            got = TryAllocPage(out page);
        }
        if (!got)
        {
            Interlocked.Increment(ref _unpooledRents);
            return new UnpooledOwner(MaxBufferSize);
        }
        PageOwner owner = _owners[page.Id] ??= new PageOwner(this);
        owner.Attach(page);
        return owner;
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
    }

    /// <summary>The pool's allocation; called under the adapter's lock, so it is the pool's only owner-context caller then.</summary>
    private protected abstract bool TryAllocPage(out Page page);

    /// <summary>Recycles through the return ring, never the owner's cache: renters return from any thread.</summary>
    private protected abstract void Return(Page page);

    private sealed class Adapter<T> : PageMemoryPool
        where T : struct, IPagePoolCallbacks
    {
        private readonly T _callbacks;

        public Adapter(PagePoolCore core, T callbacks)
            : base(core) => _callbacks = callbacks;

        private protected override bool TryAllocPage(out Page page) => _callbacks.TryAllocPage(out page);

        private protected override void Return(Page page) => _core.RecycleShared(_callbacks, page);
    }

    private sealed class PageOwner : IMemoryOwner<byte>
    {
        private readonly PageMemoryPool _pool;
        private Page _page;
        private int _rented;

        public PageOwner(PageMemoryPool pool) => _pool = pool;

        public Memory<byte> Memory => Volatile.Read(ref _rented) == 1
            ? _page.Memory
            : throw new ObjectDisposedException(nameof(IMemoryOwner<byte>), $"This page of pool '{_pool._core.Name}' was returned.");

        public void Attach(Page page)
        {
            _page = page;
            Volatile.Write(ref _rented, 1);
        }

        public void Dispose()
        {
            // Only the first Dispose returns the page: a second one is a no-op, as IDisposable requires.
            if (Interlocked.Exchange(ref _rented, 0) == 1)
            {
                _pool.Return(_page);
            }
        }
    }

    private sealed class UnpooledOwner : IMemoryOwner<byte>
    {
        private byte[]? _array;

        public UnpooledOwner(int size) => _array = new byte[size];

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(IMemoryOwner<byte>));

        public void Dispose() => _array = null;
    }
}
