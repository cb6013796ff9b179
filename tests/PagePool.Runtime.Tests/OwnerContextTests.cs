using System.Threading;
using PagePool.Internal;

namespace PagePool.Runtime.Tests;

public sealed class OwnerContextTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Only_the_thread_of_the_latest_allocation_is_the_owner(bool threadIdFallback)
    {
        StackBounds.ForceUnavailable = threadIdFallback;
        try
        {
            var owner = new OwnerContext();
            Assert.False(owner.IsCurrentThread()); // nobody allocated yet

            owner.Capture();
            owner.Enter();
            Assert.True(owner.IsCurrentThread());

            bool onOther = true;
            var other = new Thread(() => onOther = owner.IsCurrentThread());
            other.Start();
            other.Join();
            Assert.False(onOther);

            if (!threadIdFallback)
            {
                // Another thread allocates on the fast path (Enter only): the recorded stack is no longer the latest
                // allocation's, so neither thread may take the direct path until the next slow path records the new owner.
                var moved = new Thread(() => owner.Enter());
                moved.Start();
                moved.Join();
                Assert.False(owner.IsCurrentThread());
            }
        }
        finally
        {
            StackBounds.ForceUnavailable = false;
        }
    }

    [Fact]
    public void RecyclePage_on_the_owner_thread_takes_the_direct_path_and_elsewhere_the_ring()
    {
        RuntimePagePool pool = RuntimePagePoolTests.Create(poolSize: 8);
        Page a = pool.AllocPage();
        Page b = pool.AllocPage();
        pool.RecyclePage(a);
        RuntimePagePoolTests.RunOnOtherThread(() => pool.RecyclePage(b));
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(1, stats.RecycleCached);
        Assert.Equal(1, stats.RecycleRing);
    }
}
