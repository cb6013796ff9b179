using System.Threading;
using PagePool.Internal;

namespace PagePool.Runtime.Tests;

[Collection(StackBoundsSwitch.Name)]
public sealed class OwnerContextTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Only_the_thread_of_the_latest_capture_is_the_owner(bool threadIdFallback)
    {
        StackBounds.ForceUnavailable = threadIdFallback;
        try
        {
            var owner = new OwnerContext();
            Assert.False(owner.IsOwnerStack()); // nobody allocated yet: the first allocation takes the slow path
            Assert.False(owner.IsCurrentThread());
            Assert.False(owner.IsCurrentThreadById());

            owner.Capture();
            Assert.True(owner.IsOwnerStack());
            // With stack bounds the inline check answers; without, the slow path's thread-id check does.
            Assert.Equal(!threadIdFallback, owner.IsCurrentThread());
            Assert.Equal(threadIdFallback, owner.IsCurrentThreadById());

            bool ownerStack = true, current = true, byId = true;
            var other = new Thread(() =>
            {
                ownerStack = owner.IsOwnerStack();
                current = owner.IsCurrentThread();
                byId = owner.IsCurrentThreadById();
            });
            other.Start();
            other.Join();
            // Without bounds an allocation cannot tell a new owner cheaply (IsOwnerStack stays true); RecyclePage can.
            Assert.Equal(threadIdFallback, ownerStack);
            Assert.False(current);
            Assert.False(byId);

            // Another thread's slow path records it as the owner: the first thread is no longer the owner.
            var moved = new Thread(() => owner.Capture());
            moved.Start();
            moved.Join();
            Assert.Equal(threadIdFallback, owner.IsOwnerStack());
            Assert.False(owner.IsCurrentThread());
            Assert.False(owner.IsCurrentThreadById());
        }
        finally
        {
            StackBounds.ForceUnavailable = false;
        }
    }

    [Fact]
    public void An_allocation_on_a_new_thread_takes_the_slow_path_so_the_former_owner_recycles_through_the_ring()
    {
        RuntimePagePool pool = RuntimePagePoolTests.Create(poolSize: 8);
        Page a = pool.AllocPage();
        Page b = pool.AllocPage();
        pool.RecyclePageDirect(b); // the cache is not empty: a new owner could take b on the fast path

        Page c = default;
        RuntimePagePoolTests.RunOnOtherThread(() => c = pool.AllocPage());
        Assert.Equal(b.Id, c.Id);

        pool.RecyclePage(a); // the former owner's thread: not the owner any more
        PagePoolStats stats = pool.GetPageStats();
        Assert.Equal(1, stats.RecycleCached);
        Assert.Equal(1, stats.RecycleRing);
        Assert.Equal(1, stats.AllocFast); // c came from the cache, counted as alloc_fast on the slow path too
        Assert.Equal(1, pool.PagesInUse);
        pool.RecyclePage(c);
        Assert.Equal(0, pool.PagesInUse);
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

/// <summary>
/// Tests that set <see cref="StackBounds.ForceUnavailable"/>, a process-wide switch: they run alone, after the others,
/// so that no pool in a test running beside them captures its owner or claims its lane with the switch on.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StackBoundsSwitch
{
    public const string Name = "StackBounds.ForceUnavailable";
}
