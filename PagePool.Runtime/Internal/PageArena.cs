using System;
using System.Buffers;
using System.Runtime.InteropServices;
using System.Threading;

namespace PagePool.Internal;

/// <summary>
/// Page memory, carved lazily in chunks up to PoolSize pages. Pinned: pinned-object-heap slabs. Native: aligned
/// native blocks. HugePages: 2 MiB-aligned anonymous mappings advised for transparent huge pages (Linux), falling
/// back to Native. All members are called under the pool's lock except <see cref="GetMemory"/>.
/// </summary>
internal sealed unsafe class PageArena
{
    private const int HugePageSize = 2 * 1024 * 1024;

    private readonly int _pageSize;
    private readonly int _pageShift;
    private readonly int _poolSize;
    private readonly int _chunkShift;   // pages per chunk = 1 << _chunkShift
    private readonly Chunk?[] _chunks;
    private readonly NativePageManager?[]? _managers; // Native/HugePages: Memory<byte> per page, made on first use
    private int _carved;                 // pages carved so far (slot ids 0.._carved-1 have memory)
    private long _bytesReserved;

    public PageArena(int pageSize, int poolSize, PageMemoryKind requested)
    {
        _pageSize = pageSize;
        _pageShift = Log2(pageSize);
        _poolSize = poolSize;
        Kind = requested;
        if (requested == PageMemoryKind.HugePages && !HugePageMapping.IsSupported)
        {
            Kind = PageMemoryKind.Native;
            FallbackReason = "transparent huge pages need Linux; using Native memory";
        }

        // Chunks of 256 KiB (at least one page), or 2 MiB for huge pages: few allocations, little waste at the end.
        int chunkBytes = Kind == PageMemoryKind.HugePages ? Math.Max(HugePageSize, pageSize) : Math.Max(256 * 1024, pageSize);
        _chunkShift = Log2(chunkBytes) - _pageShift;
        int chunkCount = (int)(((long)poolSize + (1L << _chunkShift) - 1) >> _chunkShift);
        _chunks = new Chunk?[chunkCount];
        if (Kind != PageMemoryKind.Pinned)
        {
            _managers = new NativePageManager?[poolSize];
        }
    }

    public PageMemoryKind Kind { get; private set; }

    public string? FallbackReason { get; private set; }

    public long BytesReserved => Volatile.Read(ref _bytesReserved);

    public int Carved => _carved;

    /// <summary>Carves the next never-used page; returns its address, or 0 when PoolSize pages exist.</summary>
    public nint CarveNext(out int id)
    {
        id = _carved;
        if (id >= _poolSize)
        {
            return 0;
        }
        int chunkIndex = id >> _chunkShift;
        Chunk chunk = _chunks[chunkIndex] ?? (_chunks[chunkIndex] = AllocateChunk(chunkIndex));
        _carved = id + 1;
        chunk.Live++;
        return chunk.Base + ((nint)(id - (chunkIndex << _chunkShift)) << _pageShift);
    }

    /// <summary>A released page comes back into service: its chunk is live again.</summary>
    public void Revive(int id) => _chunks[id >> _chunkShift]!.Live++;

    /// <summary>A page left service. Returns true when its chunk has no page in service left.</summary>
    public bool Retire(int id) => --_chunks[id >> _chunkShift]!.Live == 0;

    /// <summary>Frees every chunk with no page in service (after destroy). Returns the bytes freed.</summary>
    /// <summary>
    /// Tests only: called with the index of each chunk about to be allocated; an exception it returns is thrown as if the
    /// allocation had failed (a pinned array, native memory or a huge-page mapping that could not be had).
    /// </summary>
    internal Func<int, Exception?>? ChunkFault { get; set; }

    public long FreeIdleChunks()
    {
        long freed = 0;
        for (int i = 0; i < _chunks.Length; i++)
        {
            Chunk? chunk = _chunks[i];
            if (chunk is not null && chunk.Live == 0 && !chunk.Freed)
            {
                freed += chunk.Bytes;
                Free(chunk);
            }
        }
        Interlocked.Add(ref _bytesReserved, -freed);
        return freed;
    }

    public Memory<byte> GetMemory(int id, nint address, int length)
    {
        if (_managers is null)
        {
            Chunk chunk = _chunks[id >> _chunkShift]!;
            return new Memory<byte>(chunk.Array, chunk.ArrayOffset + (int)(address - chunk.Base), length);
        }
        NativePageManager manager = Volatile.Read(ref _managers[id]) ?? CreateManager(id);
        nint pageBase = _chunks[id >> _chunkShift]!.Base + ((nint)(id & ((1 << _chunkShift) - 1)) << _pageShift);
        return manager.Memory.Slice((int)(address - pageBase), length);
    }

    private NativePageManager CreateManager(int id)
    {
        nint pageBase = _chunks[id >> _chunkShift]!.Base + ((nint)(id & ((1 << _chunkShift) - 1)) << _pageShift);
        var created = new NativePageManager(pageBase, _pageSize);
        return Interlocked.CompareExchange(ref _managers![id], created, null) ?? created;
    }

    private Chunk AllocateChunk(int chunkIndex)
    {
        if (ChunkFault?.Invoke(chunkIndex) is { } fault)
        {
            throw fault;
        }
        int pages = Math.Min(1 << _chunkShift, _poolSize - (chunkIndex << _chunkShift));
        long bytes = (long)pages << _pageShift;
        var chunk = new Chunk { Bytes = bytes };
        switch (Kind)
        {
            case PageMemoryKind.Pinned:
            {
                // Align pages to their size up to the OS page (4 KiB); larger pages start on a 4 KiB boundary.
                int align = Math.Min(_pageSize, 4096);
                byte[] array = GC.AllocateUninitializedArray<byte>(checked((int)bytes + align), pinned: true);
                nint start = (nint)Unsafe_AsPointer(array);
                nint aligned = (start + align - 1) & ~(nint)(align - 1);
                chunk.Array = array;
                chunk.ArrayOffset = (int)(aligned - start);
                chunk.Base = aligned;
                chunk.Bytes = bytes + align;
                break;
            }
            case PageMemoryKind.HugePages:
            {
                nint mapped = HugePageMapping.Map(bytes, out nint mapping, out nuint mappedLength);
                if (mapped != 0)
                {
                    chunk.Base = mapped;
                    chunk.Mapping = mapping;
                    chunk.MappedLength = mappedLength;
                    break;
                }
                // The mapping failed (limits, no THP): fall back for this chunk and every later one.
                Kind = PageMemoryKind.Native;
                FallbackReason = "mmap for huge pages failed; using Native memory";
                goto case PageMemoryKind.Native;
            }
            case PageMemoryKind.Native:
            default:
                chunk.Base = (nint)NativeMemory.AlignedAlloc((nuint)bytes, (nuint)Math.Min(_pageSize, HugePageSize));
                break;
        }
        if ((ulong)(chunk.Base + (nint)bytes) >> 48 != 0)
        {
            // A Page keeps its hand-out number in its address's top 16 bits. User space is below 2^47 on x64 and
            // below 2^48 on arm64 (48-bit virtual addresses, the Linux default; mmap returns addresses near the top
            // of that range), and kernels with wider address spaces hand out higher ones only to a process that asks.
            Free(chunk);
            throw new PagePoolException(
                $"Page memory was placed at 0x{chunk.Base:x}, above the 48-bit user address space a Page can name. " +
                "Run without wide-address-space hints (5-level paging, 52-bit arm64 addresses), or use another PageMemoryKind.");
        }
        Interlocked.Add(ref _bytesReserved, chunk.Bytes);
        return chunk;
    }

    private static void Free(Chunk chunk)
    {
        chunk.Freed = true;
        if (chunk.Mapping != 0)
        {
            HugePageMapping.Unmap(chunk.Mapping, chunk.MappedLength);
        }
        else if (chunk.Array is null)
        {
            NativeMemory.AlignedFree((void*)chunk.Base);
        }
        chunk.Array = null; // pinned slab: the GC takes it back
        chunk.Base = 0;
    }

    private static void* Unsafe_AsPointer(byte[] pinnedArray) =>
        System.Runtime.CompilerServices.Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinnedArray));

    private static int Log2(int value) => System.Numerics.BitOperations.Log2((uint)value);

    private sealed class Chunk
    {
        public nint Base;
        public byte[]? Array;
        public int ArrayOffset;
        public long Bytes;
        public nint Mapping;
        public nuint MappedLength;
        public int Live;
        public bool Freed;
    }

    /// <summary><see cref="Memory{T}"/> over one native page; made once per page, so <c>Page.Memory</c> allocates nothing after.</summary>
    private sealed class NativePageManager : MemoryManager<byte>
    {
        private readonly nint _address;
        private readonly int _length;

        public NativePageManager(nint address, int length)
        {
            _address = address;
            _length = length;
        }

        public override Span<byte> GetSpan() => new((void*)_address, _length);

        public override MemoryHandle Pin(int elementIndex = 0) => new((byte*)_address + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
