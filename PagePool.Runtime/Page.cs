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
/// </remarks>
public readonly struct Page : IEquatable<Page>
{
    private readonly PagePoolCore? _core;
    private readonly nint _address;
    private readonly int _id;
    private readonly int _length;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Page(PagePoolCore core, nint address, int id, int length)
    {
        _core = core;
        _address = address;
        _id = id;
        _length = length;
    }

    /// <summary>The page's slot in its pool: 0 to PoolSize - 1. Fragments of one page share it.</summary>
    public int Id => _id;

    /// <summary>Bytes in this page, or in this fragment.</summary>
    public int Length => _length;

    /// <summary>The first byte's address: fixed while the pool lives, so native I/O needs no pinning per operation.</summary>
    public nint Address => _address;

    /// <summary><see langword="true"/> for <c>default(Page)</c>, which belongs to no pool.</summary>
    public bool IsDefault => _core is null;

    /// <summary>The page's bytes. Valid until the page is recycled.</summary>
    public unsafe Span<byte> Span
    {
        // The length is never negative (it comes from the pool), so skip Span's argument check.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => MemoryMarshal.CreateSpan(ref Unsafe.AsRef<byte>((void*)_address), _length);
    }

    /// <summary>The page's bytes as <see cref="Memory{T}"/>, for async I/O. Allocates nothing.</summary>
    /// <exception cref="PagePoolException">The page is <c>default(Page)</c>.</exception>
    public Memory<byte> Memory => _core is null ? ThrowDefaultMemory() : _core.GetMemory(_id, _address, _length);

    /// <summary>The pool this page belongs to: for generated pools and the runtime; not for direct use.</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public PagePoolCore? Core => _core;

    /// <inheritdoc/>
    public bool Equals(Page other) =>
        ReferenceEquals(_core, other._core) && _address == other._address && _id == other._id && _length == other._length;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Page other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_core, _address, _id, _length);

    /// <summary>Same page (or fragment) of the same pool.</summary>
    public static bool operator ==(Page left, Page right) => left.Equals(right);

    /// <summary>Not the same page (or fragment).</summary>
    public static bool operator !=(Page left, Page right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() =>
        _core is null ? "Page(default)" : $"Page {_id} of '{_core.Name}' ({_length} bytes at 0x{_address:x})";

    private static Memory<byte> ThrowDefaultMemory() =>
        throw new PagePoolException("default(Page) has no memory: it was never allocated from a pool.");
}
