using System;
using System.Buffers.Binary;

namespace UdpRxQueue;

/// <summary>
/// The demo's datagram: a 24-byte header (magic, sequence number, total length, the sender's
/// <see cref="System.Diagnostics.Stopwatch"/> timestamp) and a payload whose byte i is <c>(byte)(sequence + i)</c>,
/// so the receiver checks every byte without keeping state per sender and measures each datagram's latency.
/// </summary>
internal static class Datagram
{
    public const uint Magic = 0x4C4F5050; // "PPOL"
    public const int HeaderSize = 24;
    public const int DefaultSize = 1400;

    // Pattern[k..] is the payload of every sequence number with (byte)sequence == k.
    private static readonly byte[] Pattern = CreatePattern();

    private static byte[] CreatePattern()
    {
        byte[] pattern = new byte[256 + 65536];
        for (int i = 0; i < pattern.Length; i++)
        {
            pattern[i] = (byte)i;
        }
        return pattern;
    }

    /// <summary>
    /// Writes datagram <paramref name="sequence"/> into <paramref name="destination"/> (its whole length), stamped with
    /// <paramref name="timestamp"/> (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> at the send).
    /// </summary>
    public static void Write(Span<byte> destination, ulong sequence, long timestamp)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], (uint)destination.Length);
        BinaryPrimitives.WriteInt64LittleEndian(destination[16..], timestamp);
        Pattern.AsSpan((int)(sequence & 0xFF), destination.Length - HeaderSize).CopyTo(destination[HeaderSize..]);
    }

    /// <summary>The sender's timestamp in a datagram <see cref="IsValid"/> accepted.</summary>
    public static long Timestamp(ReadOnlySpan<byte> data) => BinaryPrimitives.ReadInt64LittleEndian(data[16..]);

    /// <summary>True when <paramref name="data"/> is a whole, intact datagram of the demo's format.</summary>
    public static bool IsValid(ReadOnlySpan<byte> data)
    {
        if (data.Length < HeaderSize || data.Length - HeaderSize > Pattern.Length - 256
            || BinaryPrimitives.ReadUInt32LittleEndian(data) != Magic
            || BinaryPrimitives.ReadUInt32LittleEndian(data[12..]) != (uint)data.Length)
        {
            return false;
        }
        ulong sequence = BinaryPrimitives.ReadUInt64LittleEndian(data[4..]);
        return data[HeaderSize..].SequenceEqual(Pattern.AsSpan((int)(sequence & 0xFF), data.Length - HeaderSize));
    }
}
