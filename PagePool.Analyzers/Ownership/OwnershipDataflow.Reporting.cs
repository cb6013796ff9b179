using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace PagePool.Analyzers.Ownership;

/// <summary>The checks that report: leaks at exits and dropped values, the owner-context rule (PP1004) and the same-pool rule (PP1005).</summary>
internal sealed partial class OwnershipDataflow
{
    private int LineOfBranch(ControlFlowBranch branch)
    {
        var source = branch.Source;
        if (source.BranchValue is { } value)
        {
            return LineOf(value);
        }

        return source.Operations.Length > 0 ? LineOf(source.Operations[source.Operations.Length - 1]) : 0;
    }

    // ---- leaks ----

    private void CheckUnreferenced(OwnershipState state, LeakReason reason, int line)
    {
        // Values no variable can reach any more are dropped; those still owned leak here.
        List<int>? dead = null;
        var resources = state.Resources;
        for (var position = 0; position < resources.End; position++)
        {
            var id = resources.IdAt(position);
            if (id != ResourceMap.Removed && !state.IsReferenced(id))
            {
                (dead ??= new List<int>()).Add(id);
            }
        }

        if (dead is null)
        {
            return;
        }

        foreach (var id in dead)
        {
            var resource = state.Resources[id];
            if ((resource.Flags & Own.Held) != 0)
            {
                ReportLeak(id, resource, reason, line);
            }

            state.Resources.Remove(id);
        }
    }

    private void CheckExit(OwnershipState state, bool exceptional, int line)
    {
        var handedOut = ResourceSet.Empty;
        if (!exceptional && _method is not null)
        {
            foreach (var parameter in _method.Parameters)
            {
                if (parameter.RefKind is RefKind.Out or RefKind.Ref)
                {
                    handedOut = handedOut.Union(state.ValueOf(parameter));
                }
            }
        }

        var resources = state.Resources;
        for (var position = 0; position < resources.End; position++)
        {
            var id = resources.IdAt(position);
            var resource = resources.ValueAt(position);
            if (id != ResourceMap.Removed && (resource.Flags & Own.Held) != 0 && !handedOut.Contains(id))
            {
                ReportLeak(id, resource, exceptional ? LeakReason.ExceptionExit : LeakReason.Exit, line);
            }
        }
    }

    private void ReportLeak(int id, ResourceState resource, LeakReason reason, int line)
    {
        if (!_reporting)
        {
            _wouldReport = true;
            return;
        }

        var site = _sites[id / 2];
        var isPage = site.Kind == ResourceKind.Page;
        if (isPage && reason == LeakReason.ExceptionExit && ExceptionOrigin(resource.Note) is { Call: { } call })
        {
            ReportThrowLeak(id, call);
            return;
        }

        var verb = isPage ? "recycled" : "returned to the pool";
        var subject = Subject(site);
        string message;
        var note = resource.Note;
        if (reason == LeakReason.Statement && site.Name is null)
        {
            message = $"{subject} is discarded and never {verb}";
        }
        else if (reason == LeakReason.Statement)
        {
            message = $"{subject} is overwritten at line {line} before it is {verb}";
        }
        else if (note is not null && note.IsException)
        {
            message = reason == LeakReason.ExceptionExit
                ? $"{subject} is not {verb} when the exception thrown at line {note.Line} leaves the method"
                : $"{subject} is not {verb} when the exception thrown at line {note.Line} is caught";
        }
        else if (reason == LeakReason.ExceptionExit)
        {
            message = line > 0
                ? $"{subject} is not {verb} when the exception thrown at line {line} leaves the method"
                : $"{subject} is not {verb} when an exception leaves the method";
        }
        else if (note is not null && _handedOnSites.Contains(id / 2))
        {
            message = $"{subject} is not {verb} when the condition at line {note.Line} is {(note.Sense ? "true" : "false")}";
        }
        else if ((resource.Flags & (Own.Released | Own.Borrowed)) != 0 || _handedOnSites.Contains(id / 2))
        {
            message = $"{subject} is not {verb} on every path";
        }
        else
        {
            message = isPage ? $"{subject} is never recycled or handed on" : $"{subject} is never returned to the pool";
        }

        var descriptor = isPage ? OwnershipDescriptors.PageMayLeak : OwnershipDescriptors.ArrayMayLeak;
        _reporter.Report(descriptor, site.Location, message);
    }

    private static string Subject(Site site)
    {
        var isPage = site.Kind == ResourceKind.Page;
        if (site.IsParameter)
        {
            return $"[Owned] parameter '{site.Name}'";
        }

        if (site.Name is not null)
        {
            return isPage ? $"Page '{site.Name}'" : $"Array '{site.Name}'";
        }

        return isPage ? $"The page returned by '{site.Origin}'" : $"The array rented by '{site.Origin}'";
    }

    /// <summary>The exception a path note says the path is leaving with: its latest exception step.</summary>
    private static PathNote? ExceptionOrigin(PathNote? note)
    {
        for (; note is not null; note = note.Next)
        {
            if (note.IsException)
            {
                return note;
            }
        }

        return null;
    }

    /// <summary>" when 'Rent' at line 17 throws" where the path is a call's exception; empty otherwise.</summary>
    private static string WhenThrown(PathNote? note) =>
        ExceptionOrigin(note) is { Call: { } call } origin ? $" when '{CallName(call)}' at line {origin.Line} throws" : string.Empty;

    /// <summary>PP1006: a page held at a call that may throw, which nothing recycles when it does.</summary>
    private void ReportThrowLeak(int id, IOperation call)
    {
        if (!_reporting)
        {
            _wouldReport = true;
            return;
        }

        var site = _sites[id / 2];
        var properties = site.Name is not null && !site.IsParameter
            ? ImmutableDictionary<string, string?>.Empty.Add(PageProperty, site.Name)
            : ImmutableDictionary<string, string?>.Empty;
        _reporter.Report(
            OwnershipDescriptors.PageLeaksOnException,
            call.Syntax.GetLocation(),
            $"{Subject(site)} leaks if '{CallName(call)}' throws: nothing recycles it on that path",
            id / 2,
            properties);
    }

    /// <summary>The diagnostic property that names the page's local, for the code fix.</summary>
    internal const string PageProperty = "Page";

    /// <summary>How a message names a call: as written (<c>socket.Receive</c>, <c>new Datagram</c>, <c>await stream.ReadAsync</c>).</summary>
    private static string CallName(IOperation call)
    {
        var text = call.Syntax switch
        {
            InvocationExpressionSyntax invocation => invocation.Expression.ToString(),
            BaseObjectCreationExpressionSyntax => "new " + (call.Type?.Name ?? "?"),
            AwaitExpressionSyntax awaited => "await " + AwaitedName(awaited.Expression),
            _ => call.Syntax.ToString(),
        };

        text = string.Join(" ", text.Split(new[] { ' ', '\t', '\r', '\n' }, StringSplitOptions.RemoveEmptyEntries));
        return text.Length <= 60 ? text : text.Substring(0, 57) + "...";

        static string AwaitedName(ExpressionSyntax expression)
        {
            while (true)
            {
                switch (expression)
                {
                    case ParenthesizedExpressionSyntax parenthesized:
                        expression = parenthesized.Expression;
                        continue;
                    case InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ConfigureAwait" } access }:
                        expression = access.Expression;
                        continue;
                    case InvocationExpressionSyntax invocation:
                        return invocation.Expression.ToString();
                    default:
                        return expression.ToString();
                }
            }
        }
    }

    // ---- evaluation ----

    private void CheckOwnerContext(OwnershipState state, IOperation call)
    {
        if (!_reporting)
        {
            _wouldReport |= _offContextApi is not null || state.AwaitLine != 0;
            return;
        }

        if (_offContextApi is not null)
        {
            _reporter.Report(
                OwnershipDescriptors.RecycleDirectOffOwner,
                call.Syntax.GetLocation(),
                $"RecyclePageDirect is called in a callback passed to '{_offContextApi}', which runs off the owner context; use RecyclePage");
        }
        else if (state.AwaitLine != 0)
        {
            _reporter.Report(
                OwnershipDescriptors.RecycleDirectOffOwner,
                call.Syntax.GetLocation(),
                $"RecyclePageDirect is called after the await at line {state.AwaitLine}, where the method may continue on another thread; use RecyclePage");
        }
    }

    private void CheckSamePool(OwnershipState state, ResourceSet value, PoolIdentity target, IArgumentOperation argument)
    {
        foreach (var id in value.Ids)
        {
            var resource = state.Get(id);
            if (resource.Pool is { } source && (resource.Flags & Own.Released) == 0 && source.IsKnownDifferent(target))
            {
                if (!_reporting)
                {
                    _wouldReport = true;
                    return;
                }

                var name = NameOf(argument.Value) ?? _sites[id / 2].Name ?? "?";
                _reporter.Report(
                    OwnershipDescriptors.PageRecycledToOtherPool,
                    argument.Syntax.GetLocation(),
                    $"Page '{name}' was allocated from {source.Display} but is recycled into {target.Display}");
                return;
            }
        }
    }
}
