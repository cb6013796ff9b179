using System;

namespace PagePool;

/// <summary>
/// On a <see cref="Page"/> parameter: the callee takes ownership and must recycle the page or hand it on.
/// The caller must not use the page after the call returns. Checked by PP1001–PP1003.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class OwnedAttribute : Attribute
{
}

/// <summary>
/// On a method returning a <see cref="Page"/>, or an <see langword="out"/> <see cref="Page"/> parameter:
/// the caller does not own the page and must not recycle it (the page is only lent).
/// </summary>
[AttributeUsage(AttributeTargets.ReturnValue | AttributeTargets.Parameter | AttributeTargets.Property, AllowMultiple = false, Inherited = false)]
public sealed class NotOwnedAttribute : Attribute
{
}
