using System;
using System.Runtime.CompilerServices;

namespace PagePool.IoUring;

/// <summary>
/// A <c>user_data</c> layout that names the socket an operation belongs to: the operation kind (8 bits), a generation
/// (24 bits) and the socket (32 bits: its file descriptor or a connection index). The generation tells a completion
/// of a closed connection from one of the new connection that reuses its descriptor, since completions of the old one
/// may still be queued when the number comes back.
/// </summary>
/// <remarks>Operation 255 is not allowed: values from <see cref="IoRing.ReservedUserData"/> up are the ring's own.</remarks>
public static class IoUserData
{
    private const int GenerationShift = 32;
    private const int OperationShift = 56;
    private const uint GenerationMask = 0xFF_FFFF;

    /// <summary>The user data for <paramref name="operation"/> (0–254) on <paramref name="socket"/> in its <paramref name="generation"/> (low 24 bits kept).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="operation"/> is not 0–254.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Create(int socket, int generation, int operation)
    {
        if ((uint)operation > 254)
        {
            ThrowOperation(operation);
        }
        return ((ulong)(uint)operation << OperationShift) | ((ulong)((uint)generation & GenerationMask) << GenerationShift) | (uint)socket;
    }

    /// <summary>The socket (descriptor or index) in <paramref name="userData"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Socket(ulong userData) => (int)(uint)userData;

    /// <summary>The generation (24 bits) in <paramref name="userData"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Generation(ulong userData) => (int)((userData >> GenerationShift) & GenerationMask);

    /// <summary>The operation kind in <paramref name="userData"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Operation(ulong userData) => (int)(userData >> OperationShift);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowOperation(int operation) =>
        throw new ArgumentOutOfRangeException(nameof(operation), operation, "io_uring: an operation kind is 0 to 254 (255 is the ring's own).");
}
