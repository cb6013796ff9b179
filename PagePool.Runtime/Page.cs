using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PagePool.Internal;

namespace PagePool;

/// <summary>
/// A page (or a fragment of one) lent by a page pool: a fixed-size block of memory whose
/// <see cref="Address"/> never moves while the pool lives.
/// </summary>
/// <remarks>
/// <para>A <see cref="Page"/> is a handle: copies are the same page. Whoever owns it must give it back exactly
/// once (<c>RecyclePage</c>) and not touch it afterwards; the PagePool analyzers check both as the code is typed.</para>
/// <para>Reading the properties is thread-safe; what the memory holds is the owner's business.</para>
/// <para>16 bytes with no object reference: pages can be stored in queues, arrays and native memory (an io_uring
/// <c>user_data</c>, a RIO request context) at no GC cost. A page does not keep its pool alive: the pool stays alive,
/// with its memory, until <c>DestroyPagePool()</c> and the return of its last page, as the kernel's page_pool does.</para>
/// </remarks>
public readonly struct Page : IEquatable<Page>
{
    // 16 bytes and no GC reference: a Page costs no write barrier when it is stored in a queue, an array or native
    // memory, and travels in two registers. The pool is named by its id in PagePoolRegistry.
    private const int LengthBits = 22;                   // up to 4 MiB - 1: MaxPageSize is 2 MiB
    private const int IdBits = 20;                       // up to 1,048,575: MaxPoolSize is 1,048,576
    private const int PoolIdShift = LengthBits + IdBits; // the top 22 bits: PagePoolRegistry.IdBits
    private const ulong LengthMask = (1UL << LengthBits) - 1;
    private const int IdMask = (1 << IdBits) - 1;
    private const int GenerationShift = 48;             // user-space addresses fit in 48 bits (x64: 47; arm64: 48; PageArena checks)
    private const ulong AddressMask = (1UL << GenerationShift) - 1;

    /// <summary>The bits of the page's hand-out count a handle carries, above the address.</summary>
    internal const int GenerationMask = 0xFFFF;

    private readonly ulong _address; // generation (16) | address (48)
    private readonly ulong _bits;    // pool id (22) | page id (20) | length (22); 0 for default(Page)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Page(ulong address, ulong bits)
    {
        _address = address;
        _bits = bits;
    }

    /// <summary>The bits <see cref="Create"/> puts above the page id and length for a pool: precomputed per pool.</summary>
    internal static ulong PoolBits(int poolId) => (ulong)(uint)poolId << PoolIdShift;

    /// <summary>
    /// A handle to page <paramref name="id"/> (or a fragment of it) of the pool whose <see cref="PoolBits"/> are given,
    /// for its hand-out number <paramref name="generation"/> (its low 16 bits are kept).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Page Create(ulong poolBits, nint address, int id, int length, int generation) =>
        new((ulong)address | ((ulong)(ushort)generation << GenerationShift), poolBits | ((ulong)(uint)id << LengthBits) | (uint)length);

    /// <summary>The page's slot in its pool: 0 to PoolSize - 1. Fragments of one page share it.</summary>
    public int Id
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (int)(_bits >> LengthBits) & IdMask;
    }

    /// <summary>Bytes in this page, or in this fragment.</summary>
    public int Length
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (int)(_bits & LengthMask);
    }

    /// <summary>The first byte's address: fixed while the pool lives, so native I/O needs no pinning per operation.</summary>
    public nint Address
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (nint)(_address & AddressMask);
    }

    /// <summary><see langword="true"/> for <c>default(Page)</c>, which belongs to no pool.</summary>
    public bool IsDefault => _bits == 0;

    /// <summary>The page's bytes. Valid until the page is recycled.</summary>
    public unsafe Span<byte> Span
    {
        // The length is never negative (it comes from the pool), so skip Span's argument check.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => MemoryMarshal.CreateSpan(ref Unsafe.AsRef<byte>((void*)Address), Length);
    }

    /// <summary>The page's bytes as <see cref="Memory{T}"/>, for async I/O. Allocates nothing.</summary>
    /// <exception cref="PagePoolException">The page is <c>default(Page)</c>, or its pool was destroyed and every page came back.</exception>
    public Memory<byte> Memory => Core is { } core ? core.GetMemory(Id, Address, Length) : ThrowNoMemory();

    /// <summary>
    /// The id of the pool this page belongs to (0 for <c>default(Page)</c>): generated pools compare it with their own
    /// to refuse foreign pages. Not for direct use.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public int PoolId
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (int)(_bits >> PoolIdShift);
    }

    /// <summary>
    /// The low 16 bits of the page's hand-out number when this handle was made: a recycle checks it against the pool's
    /// record, so a handle kept from an earlier hand-out is refused. Not for direct use.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public int Generation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (int)(_address >> GenerationShift);
    }

    /// <summary>The pool this page belongs to, or null (default, or a pool destroyed with every page back). Not for direct use.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public PagePoolCore? Core => PagePoolRegistry.Find(PoolId);

    /// <inheritdoc/>
    public bool Equals(Page other) => _address == other._address && _bits == other._bits;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Page other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_address, _bits);

    /// <summary>Same page (or fragment) of the same pool.</summary>
    public static bool operator ==(Page left, Page right) => left.Equals(right);

    /// <summary>Not the same page (or fragment).</summary>
    public static bool operator !=(Page left, Page right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() =>
        IsDefault ? "Page(default)" : $"Page {Id} of {(Core is { } core ? $"'{core.Name}'" : "a destroyed pool")} ({Length} bytes at 0x{Address:x})";

    private Memory<byte> ThrowNoMemory() => throw (IsDefault
        ? new PagePoolException("default(Page) has no memory: it was never allocated from a pool.")
        : new PagePoolException($"Page {Id} has no memory: its pool was destroyed and every page came back. Do not keep pages after recycling them.", null, Id));
}
