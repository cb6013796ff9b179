using PagePool;

namespace PipelinesEcho;

/// <summary>
/// The echo server's pages: 4 KiB, the segment size System.IO.Pipelines asks for, at most 1024 of them (4 MiB).
/// The pipes reach them through <c>AsMemoryPool()</c>, a thread-safe <see cref="System.Buffers.MemoryPool{T}"/>
/// whose owners recycle the page when the pipe is done with a segment.
/// </summary>
[PagePool(4096, 1024)]
internal sealed partial class EchoPages
{
}
