using System.Threading.Tasks;
using PagePool.Analyzers.Attribute;
using PagePool.Analyzers.CodeFixes;
using Verifier = PagePool.Analyzers.Tests.CodeFixes.CodeFixVerifier<
    PagePool.Analyzers.Attribute.PagePoolAttributeAnalyzer, PagePool.Analyzers.CodeFixes.MakePartialCodeFixProvider>;

namespace PagePool.Analyzers.Tests.CodeFixes;

public sealed class MakePartialCodeFixTests
{
    [Fact]
    public Task Adds_partial_after_the_existing_modifiers() =>
        Verifier.VerifyAsync(
            """
            using PagePool;

            namespace Driver;

            [PagePool(4096, 1024)]
            internal sealed class {|PP0001:RxQueue|}
            {
            }
            """,
            """
            using PagePool;

            namespace Driver;

            [PagePool(4096, 1024)]
            internal sealed partial class RxQueue
            {
            }
            """);

    [Fact]
    public Task Adds_partial_to_a_class_without_modifiers() =>
        Verifier.VerifyAsync(
            """
            using PagePool;

            [PagePool(4096, 1024)]
            class {|PP0001:RxQueue|} { }

            [PagePool(4096, 1024)] record {|PP0001:Frames|}(int Id);
            """,
            """
            using PagePool;

            [PagePool(4096, 1024)]
            partial class RxQueue { }

            [PagePool(4096, 1024)] partial record Frames(int Id);
            """);

    [Fact]
    public Task Makes_every_containing_type_partial() =>
        Verifier.VerifyAsync(
            """
            using PagePool;

            namespace Driver
            {
                public class Nic
                {
                    partial struct Port
                    {
                        internal class Queues
                        {
                            [PagePool(2048, 64)]
                            private sealed partial class {|PP0001:RxQueue|} { }
                        }
                    }
                }
            }
            """,
            """
            using PagePool;

            namespace Driver
            {
                public partial class Nic
                {
                    partial struct Port
                    {
                        internal partial class Queues
                        {
                            [PagePool(2048, 64)]
                            private sealed partial class RxQueue { }
                        }
                    }
                }
            }
            """);

    [Fact]
    public Task Fix_all_makes_every_pool_partial() =>
        Verifier.VerifyAsync(
            """
            using PagePool;

            class Nic
            {
                [PagePool(4096, 1024)] class {|PP0001:RxQueue|} { }
                [PagePool(4096, 64)] sealed class {|PP0001:TxQueue|} { }
            }

            [PagePool(256, 16)] public class {|PP0001:Control|} { }
            """,
            """
            using PagePool;

            partial class Nic
            {
                [PagePool(4096, 1024)] partial class RxQueue { }
                [PagePool(4096, 64)] sealed partial class TxQueue { }
            }

            [PagePool(256, 16)] public partial class Control { }
            """);

    [Fact]
    public Task Keeps_doc_comments_and_indentation_on_the_first_token() =>
        Verifier.VerifyAsync(
            """
            using PagePool;

            namespace Driver
            {
                /// <summary>The NIC.</summary>
                class Nic
                {
                    /// <summary>Queue 0.</summary>
                    [PagePool(4096, 1024)]
                    class {|PP0001:RxQueue|}
                    {
                    }
                }
            }
            """,
            """
            using PagePool;

            namespace Driver
            {
                /// <summary>The NIC.</summary>
                partial class Nic
                {
                    /// <summary>Queue 0.</summary>
                    [PagePool(4096, 1024)]
                    partial class RxQueue
                    {
                    }
                }
            }
            """);
}
