using System;
using System.ComponentModel;
using System.Diagnostics;

namespace PagePool.Internal;

/// <summary>
/// Destroys a pool (a <see cref="RuntimePagePool"/>, or a generated pool's owner object) dropped without
/// <c>DestroyPagePool()</c>. The pool object holds the only reference to it, and it holds the pool's destroy method, so
/// both become unreachable together and its finalizer runs the destroy: nothing can recycle into an unreachable pool (a
/// <see cref="Page"/> does not reference it; the owners <c>AsMemoryPool()</c> hands out keep it reachable), so its idle
/// pages are released and their memory freed; pages still out keep theirs. For the runtime and generated code.
/// </summary>
/// <remarks>
/// Thread-safety: created by the pool's constructor (runtime) or first slow path (generated, where no constructor is
/// ours); <see cref="Suppress"/> is called by the owner's destroy.
/// </remarks>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class PoolFinalizer
{
    private readonly PagePoolCore _core;
    private readonly Action _destroy;

    /// <summary>Arms the finalizer: <paramref name="destroy"/> runs on the finalizer thread if the pool is dropped undestroyed.</summary>
    public PoolFinalizer(PagePoolCore core, Action destroy)
    {
        ArgumentNullException.ThrowIfNull(core);
        ArgumentNullException.ThrowIfNull(destroy);
        _core = core;
        _destroy = destroy;
    }

    /// <summary>The pool was destroyed by its owner: nothing is left to do at finalization.</summary>
    public void Suppress() => GC.SuppressFinalize(this);

    /// <summary>Destroys the dropped pool (its OnPageReleased hook runs on the finalizer thread).</summary>
    ~PoolFinalizer()
    {
        try
        {
            _destroy();
        }
        catch (Exception ex)
        {
            // A finalizer must not throw (it would end the process); the only code that can throw here is the user's hook.
            Trace.TraceError($"Page pool '{_core.Name}' was not destroyed and its finalizer failed: {ex}");
        }
    }
}
