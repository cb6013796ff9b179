using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using PagePool.Shared;

namespace PagePool.Analyzers.Attribute;

/// <summary>
/// Checks each <c>[PagePool]</c> declaration: the class can receive generated members (PP0001, PP0005, PP0006)
/// and the arguments are valid (PP0002–PP0004). Argument validation is <see cref="PagePoolRules"/>, the code the
/// generator's parser runs, so a declaration the generator skips is exactly one this analyzer reports.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class PagePoolAttributeAnalyzer : DiagnosticAnalyzer
{
    private const string AttributeMetadataName = "PagePool.PagePoolAttribute";

    // Generated members carry [GeneratedCode("PagePool.Generators", ...)] and live in the generator's output trees,
    // whose paths are "PagePool.Generators/PagePool.Generators.<type>/<hint>"; either marks a member as the
    // generator's, not the user's.
    private const string GeneratorName = "PagePool.Generators";
    private const string GeneratedCodeAttributeName = "GeneratedCodeAttribute";

    private static readonly SymbolDisplayFormat TypeNameFormat = SymbolDisplayFormat.MinimallyQualifiedFormat;

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        AttributeDescriptors.NotPartial,
        AttributeDescriptors.InvalidPageSize,
        AttributeDescriptors.InvalidPoolSize,
        AttributeDescriptors.InvalidNamedArgument,
        AttributeDescriptors.UnsupportedTarget,
        AttributeDescriptors.MemberCollision);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(static start =>
        {
            // Resolved once per compilation; a compilation without the runtime has no [PagePool] to check.
            INamedTypeSymbol? attributeType = start.Compilation.GetTypeByMetadataName(AttributeMetadataName);
            if (attributeType is null)
            {
                return;
            }

            start.RegisterSymbolAction(c => AnalyzeType(c, attributeType), SymbolKind.NamedType);
        });
    }

    private static void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol attributeType)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (type.TypeKind != TypeKind.Class)
        {
            return; // [PagePool] on a struct or interface is the compiler's CS0592.
        }

        AttributeData? attribute = FindAttribute(type, attributeType);
        if (attribute is null)
        {
            return;
        }

        CancellationToken cancellationToken = context.CancellationToken;
        if (attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax attributeSyntax ||
            attributeSyntax.Parent?.Parent is not TypeDeclarationSyntax declaration)
        {
            return;
        }

        Location classLocation = declaration.Identifier.GetLocation();

        ReportNotPartial(context, type, classLocation);
        ReportUnsupportedTarget(context, type, classLocation);

        PoolArguments arguments = PoolArguments.Read(attribute);
        ReportInvalidArguments(context, attribute, attributeSyntax, arguments);
        ReportCollisions(context, type, arguments);
    }

    private static AttributeData? FindAttribute(INamedTypeSymbol type, INamedTypeSymbol attributeType)
    {
        foreach (AttributeData candidate in type.GetAttributes())
        {
            if (SymbolEqualityComparer.Default.Equals(candidate.AttributeClass, attributeType))
            {
                return candidate;
            }
        }

        return null;
    }

    // PP0001: one diagnostic that names every type of the chain lacking 'partial', outermost first.
    private static void ReportNotPartial(SymbolAnalysisContext context, INamedTypeSymbol type, Location classLocation)
    {
        List<INamedTypeSymbol>? notPartial = null;
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            if (!IsDeclaredPartial(current, context.CancellationToken))
            {
                (notPartial ??= new List<INamedTypeSymbol>()).Insert(0, current);
            }
        }

        if (notPartial is null)
        {
            return;
        }

        var names = new StringBuilder();
        for (int i = 0; i < notPartial.Count; i++)
        {
            if (i > 0)
            {
                names.Append(i == notPartial.Count - 1 ? " and " : ", ");
            }

            names.Append('\'').Append(notPartial[i].ToDisplayString(TypeNameFormat)).Append('\'');
        }

        names.Append(notPartial.Count == 1 ? " is" : " are");
        context.ReportDiagnostic(Diagnostic.Create(
            AttributeDescriptors.NotPartial, classLocation, type.ToDisplayString(TypeNameFormat), names.ToString()));
    }

    private static bool IsDeclaredPartial(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        ImmutableArray<SyntaxReference> references = type.DeclaringSyntaxReferences;
        if (references.IsEmpty)
        {
            return true; // Not declared in source: nothing the user could add 'partial' to.
        }

        foreach (SyntaxReference reference in references)
        {
            if (reference.GetSyntax(cancellationToken) is TypeDeclarationSyntax declaration &&
                declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                return true;
            }
        }

        return false;
    }

    // PP0005: the first reason found, in the order a reader checks them.
    private static void ReportUnsupportedTarget(SymbolAnalysisContext context, INamedTypeSymbol type, Location classLocation)
    {
        string? reason = null;
        if (type.IsStatic)
        {
            reason = "it is static";
        }
        else if (type.TypeParameters.Length > 0)
        {
            reason = "it is generic";
        }
        else
        {
            for (INamedTypeSymbol? container = type.ContainingType; container is not null; container = container.ContainingType)
            {
                if (container.TypeParameters.Length > 0)
                {
                    reason = "it is nested in the generic type '" + container.ToDisplayString(TypeNameFormat) + "'";
                    break;
                }
            }
        }

        if (reason is not null)
        {
            context.ReportDiagnostic(Diagnostic.Create(
                AttributeDescriptors.UnsupportedTarget, classLocation, type.ToDisplayString(TypeNameFormat), reason));
        }
    }

    // PP0002–PP0004: the first error of the shared rules, on the argument it is about.
    private static void ReportInvalidArguments(
        SymbolAnalysisContext context, AttributeData attribute, AttributeSyntax attributeSyntax, PoolArguments arguments)
    {
        if (!arguments.AllKnown)
        {
            return; // Missing or non-constant arguments: the compiler already reports them.
        }

        PagePoolRuleError error = PagePoolRules.Check(
            arguments.PageSize, arguments.PoolSize, arguments.CacheSize, arguments.RefillBatch, arguments.Headroom, arguments.MaxLength);
        if (!error.IsError)
        {
            return;
        }

        DiagnosticDescriptor descriptor = error.Kind switch
        {
            PagePoolRuleKind.PageSize => AttributeDescriptors.InvalidPageSize,
            PagePoolRuleKind.PoolSize => AttributeDescriptors.InvalidPoolSize,
            _ => AttributeDescriptors.InvalidNamedArgument,
        };

        Location location = ArgumentLocator.Find(attribute, attributeSyntax, error.Argument);
        context.ReportDiagnostic(Diagnostic.Create(descriptor, location, error.Message));
    }

    // PP0006: every member the user declared under a name the generator adds.
    private static void ReportCollisions(SymbolAnalysisContext context, INamedTypeSymbol type, PoolArguments arguments)
    {
        foreach (string name in GeneratedMemberNames.Always)
        {
            ReportCollisions(context, type, name, allowPartialMethods: false);
        }

        if (arguments.Fragments)
        {
            ReportCollisions(context, type, GeneratedMemberNames.AllocFragment, allowPartialMethods: false);
        }

        if (arguments.LeakTracking)
        {
            ReportCollisions(context, type, GeneratedMemberNames.GetPageLeaks, allowPartialMethods: false);
        }

        foreach (string name in GeneratedMemberNames.PartialHooks)
        {
            ReportCollisions(context, type, name, allowPartialMethods: true);
        }
    }

    private static void ReportCollisions(SymbolAnalysisContext context, INamedTypeSymbol type, string name, bool allowPartialMethods)
    {
        foreach (ISymbol member in type.GetMembers(name))
        {
            if (allowPartialMethods && member is IMethodSymbol method && IsPartialMethod(method, context.CancellationToken))
            {
                continue;
            }

            Location? location = FirstSourceLocation(member);
            if (location is null || IsGeneratedByPagePool(member, location))
            {
                continue;
            }

            context.ReportDiagnostic(Diagnostic.Create(
                AttributeDescriptors.MemberCollision, location, type.ToDisplayString(TypeNameFormat), name));
        }
    }

    private static bool IsPartialMethod(IMethodSymbol method, CancellationToken cancellationToken)
    {
        if (method.PartialDefinitionPart is not null || method.PartialImplementationPart is not null)
        {
            return true;
        }

        foreach (SyntaxReference reference in method.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is MethodDeclarationSyntax declaration &&
                declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                return true;
            }
        }

        return false;
    }

    private static Location? FirstSourceLocation(ISymbol member)
    {
        foreach (Location location in member.Locations)
        {
            if (location.IsInSource)
            {
                return location;
            }
        }

        return null;
    }

    private static bool IsGeneratedByPagePool(ISymbol member, Location location)
    {
        // A generated tree's path is {generator assembly}/{generator type}/{hint name}.
        string? path = location.SourceTree?.FilePath;
        if (path is not null &&
            (path.IndexOf(GeneratorName + "/" + GeneratorName + ".", System.StringComparison.Ordinal) >= 0 ||
             path.IndexOf(GeneratorName + "\\" + GeneratorName + ".", System.StringComparison.Ordinal) >= 0))
        {
            return true;
        }

        foreach (AttributeData attribute in member.GetAttributes())
        {
            if (attribute.AttributeClass?.Name == GeneratedCodeAttributeName &&
                attribute.ConstructorArguments.Length > 0 &&
                attribute.ConstructorArguments[0].Value is string tool &&
                tool.StartsWith("PagePool", System.StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
