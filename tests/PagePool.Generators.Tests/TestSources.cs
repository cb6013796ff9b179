using System.Collections.Generic;

namespace PagePool.Generators.Tests;

/// <summary>The inputs of the approved-output baselines; each also compiles with no diagnostics, with and without DEBUG.</summary>
internal static class TestSources
{
    public const string Defaults = """
        using PagePool;

        namespace MyApp.Net;

        /// <summary>A receive queue with the default pool settings.</summary>
        [PagePool(4096, 1024)]
        internal sealed partial class RxQueue
        {
            public int Received { get; set; }
        }
        """;

    public const string NativeHeadroom = """
        using PagePool;

        namespace MyApp.Native
        {
            /// <summary>Native memory, headroom for a header, a device MTU; both hooks implemented.</summary>
            [PagePool(2048, 512, Memory = PageMemoryKind.Native, Headroom = 256, MaxLength = 1500)]
            public partial class NativeRxQueue
            {
                /// <summary>Pages created so far.</summary>
                public int Created;

                /// <summary>Pages released so far.</summary>
                public int Released;

                partial void OnPageCreated(Page page) => Created++;

                partial void OnPageReleased(Page page)
                {
                    System.Threading.Interlocked.Increment(ref Released);
                }
            }
        }
        """;

    public const string Fragments = """
        using PagePool;

        namespace MyApp.Frag;

        [PagePool(4096, 256, Fragments = true)]
        internal partial class FragmentQueue
        {
        }
        """;

    public const string ClearOnRecycle = """
        using PagePool;

        namespace MyApp.Clear;

        [PagePool(1024, 64, ClearOnRecycle = true, Headroom = 64, MaxLength = 512)]
        internal sealed partial class ClearingQueue
        {
        }
        """;

    public const string LeakSampled = """
        using PagePool;

        namespace MyApp.Leaks;

        [PagePool(4096, 128, LeakTracking = PageLeakTracking.Sampled)]
        internal sealed partial class TrackedQueue
        {
        }
        """;

    public const string SmallCache = """
        using PagePool;

        namespace MyApp.Small;

        [PagePool(256, 32, CacheSize = 8, RefillBatch = 4)]
        internal sealed partial class SmallQueue
        {
        }
        """;

    public const string Nested = """
        using PagePool;

        namespace MyApp.Nested
        {
            internal static partial class Driver
            {
                internal partial record struct Nic(int Index)
                {
                    [PagePool(4096, 64)]
                    internal sealed partial class RxRing
                    {
                    }
                }
            }
        }
        """;

    public const string GlobalNamespace = """
        using PagePool;

        [PagePool(8192, 16)]
        internal partial class GlobalQueue
        {
        }
        """;

    public const string TwoPools = """
        using PagePool;

        namespace MyApp.Two;

        [PagePool(4096, 1024)]
        internal sealed partial class RxQueue
        {
        }

        [PagePool(65536, 8, Memory = PageMemoryKind.HugePages, CacheSize = 4, RefillBatch = 2)]
        internal sealed partial class JumboQueue
        {
        }
        """;

    /// <summary>Baseline name -> source.</summary>
    public static readonly IReadOnlyDictionary<string, string> Baselines = new Dictionary<string, string>
    {
        ["Defaults"] = Defaults,
        ["NativeHeadroom"] = NativeHeadroom,
        ["Fragments"] = Fragments,
        ["ClearOnRecycle"] = ClearOnRecycle,
        ["LeakSampled"] = LeakSampled,
        ["SmallCache"] = SmallCache,
        ["Nested"] = Nested,
        ["GlobalNamespace"] = GlobalNamespace,
        ["TwoPools"] = TwoPools,
    };

    public static IEnumerable<object[]> BaselineNames()
    {
        foreach (string name in Baselines.Keys)
        {
            yield return new object[] { name };
        }
    }
}
