using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using PagePool.Generators.Model;
using PagePool.Shared;

namespace PagePool.Generators
{
    public sealed partial class PagePoolGenerator
    {
        /// <summary>
        /// Symbols -> <see cref="PagePoolModel"/>. Returns null for anything the generator cannot serve (the analyzer
        /// reports it: PP0001-PP0006, or the compiler does for malformed attributes). Never throws on half-typed code.
        /// </summary>
        internal static class Parser
        {
            internal const string OnPageCreated = PagePoolGeneratedMembers.OnPageCreated;
            internal const string OnPageReleased = PagePoolGeneratedMembers.OnPageReleased;

            public static bool IsCandidate(SyntaxNode node) => node is ClassDeclarationSyntax or RecordDeclarationSyntax;

            public static PagePoolModel? Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax node)
                {
                    return null;
                }
                if (type.TypeKind != TypeKind.Class || type.IsStatic || type.IsGenericType || type.IsImplicitlyDeclared)
                {
                    return null;
                }
                if (node.Identifier.IsMissing || node.Identifier.ValueText.Length == 0 ||
                    !HasModifier(node, SyntaxKind.PartialKeyword) || HasModifier(node, SyntaxKind.FileKeyword))
                {
                    return null;
                }

                // Exactly one [PagePool] on the whole type: two (on two partial parts) is CS0579 and would emit twice.
                AttributeData? attribute = null;
                int count = 0;
                foreach (AttributeData candidate in type.GetAttributes())
                {
                    if (candidate.AttributeClass?.ToDisplayString() == AttributeMetadataName)
                    {
                        attribute = candidate;
                        count++;
                    }
                }
                if (count != 1 || attribute is null || context.Attributes.Length != 1)
                {
                    return null;
                }

                // A malformed attribute (missing argument, wrong type, unknown name, unclosed bracket) is the compiler's
                // to report: generating from what it managed to bind would only add confusing errors.
                if (HasErrors(attribute, context.SemanticModel, cancellationToken))
                {
                    return null;
                }

                PoolOptionsModel? options = ParseOptions(attribute);
                if (options is null)
                {
                    return null;
                }

                cancellationToken.ThrowIfCancellationRequested();
                EquatableArray<ContainingTypeModel>? containing = ParseContainingTypes(type, node, cancellationToken);
                if (containing is null)
                {
                    return null;
                }
                if (HasMemberConflict(type, options, cancellationToken))
                {
                    return null;
                }
                ExtraConstants extras = ExtraConstants.All;
                for (int i = 0; i < PagePoolGeneratedMembers.Optional.Length; i++)
                {
                    string name = PagePoolGeneratedMembers.Optional[i];
                    if (type.Name == name || !type.GetMembers(name).IsEmpty)
                    {
                        extras &= ~(ExtraConstants)(1 << i);
                    }
                }

                string ns = type.ContainingNamespace is { IsGlobalNamespace: false } containingNamespace
                    ? EscapeQualifiedName(containingNamespace.ToDisplayString())
                    : string.Empty;
                return new PagePoolModel(
                    ns,
                    EscapeIdentifier(type.Name),
                    type.IsRecord ? "record" : "class",
                    PoolName(type),
                    HintName(type),
                    containing.Value,
                    options,
                    extras);
            }

            private static bool HasErrors(AttributeData attribute, SemanticModel semanticModel, CancellationToken cancellationToken)
            {
                if (attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax syntax)
                {
                    return true;
                }
                if (syntax.Parent is not AttributeListSyntax list || list.ContainsDiagnostics)
                {
                    return true;
                }
                if (syntax.SyntaxTree != semanticModel.SyntaxTree)
                {
                    return false;
                }
                foreach (Diagnostic diagnostic in semanticModel.GetDiagnostics(syntax.Span, cancellationToken))
                {
                    if (diagnostic.Severity == DiagnosticSeverity.Error)
                    {
                        return true;
                    }
                }
                return false;
            }

            /// <summary>Reads and validates the attribute's arguments; null when any is missing, malformed or breaks a rule.</summary>
            internal static PoolOptionsModel? ParseOptions(AttributeData attribute)
            {
                if (attribute.AttributeConstructor is null || attribute.ConstructorArguments.Length != 2)
                {
                    return null;
                }
                if (!TryGetInt(attribute.ConstructorArguments[0], out int pageSize) ||
                    !TryGetInt(attribute.ConstructorArguments[1], out int poolSize))
                {
                    return null;
                }

                int cacheSize = PagePoolRules.DefaultCacheSize;
                int refillBatch = PagePoolRules.DefaultRefillBatch;
                int headroom = 0;
                int maxLength = 0;
                bool clearOnRecycle = false;
                bool fragments = false;
                int memory = 0;
                int leakTracking = 0;
                foreach (KeyValuePair<string, TypedConstant> named in attribute.NamedArguments)
                {
                    TypedConstant value = named.Value;
                    bool ok = named.Key switch
                    {
                        "CacheSize" => TryGetInt(value, out cacheSize),
                        "RefillBatch" => TryGetInt(value, out refillBatch),
                        "Headroom" => TryGetInt(value, out headroom),
                        "MaxLength" => TryGetInt(value, out maxLength),
                        "ClearOnRecycle" => TryGetBool(value, out clearOnRecycle),
                        "Fragments" => TryGetBool(value, out fragments),
                        "Memory" => TryGetEnum(value, out memory),
                        "LeakTracking" => TryGetEnum(value, out leakTracking),
                        _ => false,
                    };
                    if (!ok)
                    {
                        return null;
                    }
                }

                if (PagePoolRules.Check(pageSize, poolSize, cacheSize, refillBatch, headroom, maxLength).IsError)
                {
                    return null;
                }
                if (memory < (int)PoolMemoryKind.Pinned || memory > (int)PoolMemoryKind.HugePages ||
                    leakTracking < (int)PoolLeakTracking.Off || leakTracking > (int)PoolLeakTracking.All)
                {
                    return null;
                }

                return new PoolOptionsModel(
                    pageSize,
                    poolSize,
                    (PoolMemoryKind)memory,
                    cacheSize,
                    refillBatch,
                    headroom,
                    PagePoolRules.EffectiveMaxLength(pageSize, headroom, maxLength),
                    clearOnRecycle,
                    fragments,
                    (PoolLeakTracking)leakTracking);
            }

            private static bool TryGetInt(TypedConstant constant, out int value)
            {
                if (constant.Kind == TypedConstantKind.Primitive && !constant.IsNull && constant.Value is int i)
                {
                    value = i;
                    return true;
                }
                value = 0;
                return false;
            }

            private static bool TryGetBool(TypedConstant constant, out bool value)
            {
                if (constant.Kind == TypedConstantKind.Primitive && !constant.IsNull && constant.Value is bool b)
                {
                    value = b;
                    return true;
                }
                value = false;
                return false;
            }

            private static bool TryGetEnum(TypedConstant constant, out int value)
            {
                if (constant.Kind == TypedConstantKind.Enum && !constant.IsNull && constant.Value is int i)
                {
                    value = i;
                    return true;
                }
                value = 0;
                return false;
            }

            /// <summary>
            /// Outermost first. Null when a containing type is not partial, is generic, or cannot hold the
            /// re-declaration (PP0001 / PP0005).
            /// </summary>
            private static EquatableArray<ContainingTypeModel>? ParseContainingTypes(INamedTypeSymbol type, TypeDeclarationSyntax node, CancellationToken cancellationToken)
            {
                List<ContainingTypeModel> types = new List<ContainingTypeModel>();
                INamedTypeSymbol? containingType = type.ContainingType;
                SyntaxNode? parent = node.Parent;
                while (containingType is not null)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (parent is not TypeDeclarationSyntax parentSyntax)
                    {
                        return null;
                    }
                    if (containingType.IsGenericType || !HasModifier(parentSyntax, SyntaxKind.PartialKeyword) ||
                        HasModifier(parentSyntax, SyntaxKind.FileKeyword))
                    {
                        return null;
                    }

                    string? keyword = containingType.TypeKind switch
                    {
                        TypeKind.Class => containingType.IsRecord ? "record" : "class",
                        TypeKind.Struct => containingType.IsRecord ? "record struct" : "struct",
                        TypeKind.Interface => "interface",
                        _ => null,
                    };
                    if (keyword is null)
                    {
                        return null;
                    }

                    string modifiers = string.Empty;
                    if (containingType.IsStatic)
                    {
                        modifiers += "static ";
                    }
                    if (containingType.IsRefLikeType)
                    {
                        modifiers += "ref ";
                    }
                    types.Add(new ContainingTypeModel(EscapeIdentifier(containingType.Name), keyword, modifiers));

                    containingType = containingType.ContainingType;
                    parent = parentSyntax.Parent;
                }
                types.Reverse();
                return new EquatableArray<ContainingTypeModel>(types.ToImmutableArray());
            }

            /// <summary>True when the class already declares a member the generator must add (PP0006).</summary>
            private static bool HasMemberConflict(INamedTypeSymbol type, PoolOptionsModel options, CancellationToken cancellationToken)
            {
                if (IsGeneratedName(type.Name, options))
                {
                    // A member may not be named like its enclosing type (CS0542).
                    return true;
                }
                foreach (ISymbol member in type.GetMembers())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (member.IsImplicitlyDeclared && member is IMethodSymbol { MethodKind: MethodKind.Constructor or MethodKind.StaticConstructor })
                    {
                        continue;
                    }
                    string name = member.Name;
                    if (name == OnPageCreated || name == OnPageReleased)
                    {
                        if (!IsHookImplementation(member))
                        {
                            return true;
                        }
                        continue;
                    }
                    if (IsGeneratedName(name, options))
                    {
                        return true;
                    }
                }
                foreach (INamedTypeSymbol nested in type.GetTypeMembers())
                {
                    if (IsGeneratedName(nested.Name, options))
                    {
                        return true;
                    }
                }
                return false;
            }

            private static bool IsGeneratedName(string name, PoolOptionsModel options) =>
                PagePoolGeneratedMembers.IsGeneratedName(name, options.Fragments, options.LeakTracking != PoolLeakTracking.Off);

            /// <summary>
            /// The user implements the hooks as <c>partial void OnPageCreated(Page page) { ... }</c>. Any partial method
            /// with a hook's name is taken as that (as the analyzer does): a wrong signature, accessibility or a second
            /// defining declaration is then a precise compiler error on the user's line, not a silently missing pool.
            /// </summary>
            private static bool IsHookImplementation(ISymbol member)
            {
                if (member is not IMethodSymbol method || method.DeclaringSyntaxReferences.Length == 0)
                {
                    return false;
                }
                foreach (SyntaxReference reference in method.DeclaringSyntaxReferences)
                {
                    if (reference.GetSyntax() is not MethodDeclarationSyntax syntax || !HasModifier(syntax, SyntaxKind.PartialKeyword))
                    {
                        return false;
                    }
                }
                return true;
            }

            private static bool HasModifier(MemberDeclarationSyntax syntax, SyntaxKind kind)
            {
                foreach (SyntaxToken modifier in syntax.Modifiers)
                {
                    if (modifier.IsKind(kind))
                    {
                        return true;
                    }
                }
                return false;
            }

            /// <summary>The name at run time: namespace, containing types and the class, dot-separated.</summary>
            private static string PoolName(INamedTypeSymbol type)
            {
                StringBuilder name = new StringBuilder();
                AppendTypePath(name, type, '.');
                if (type.ContainingNamespace is { IsGlobalNamespace: false } ns)
                {
                    name.Insert(0, ns.ToDisplayString() + ".");
                }
                return name.ToString();
            }

            /// <summary>
            /// <c>{Namespace}.{Type}</c>, nested types joined with '+' (so <c>A.B</c> nested and <c>B</c> in namespace
            /// <c>A</c> differ), no namespace prefix for the global namespace. '.g.cs' is added by the emitter.
            /// </summary>
            private static string HintName(INamedTypeSymbol type)
            {
                StringBuilder name = new StringBuilder();
                AppendTypePath(name, type, '+');
                if (type.ContainingNamespace is { IsGlobalNamespace: false } ns)
                {
                    name.Insert(0, ns.ToDisplayString() + ".");
                }
                StringBuilder safe = new StringBuilder(name.Length);
                foreach (char c in name.ToString())
                {
                    safe.Append(char.IsLetterOrDigit(c) || c == '.' || c == '+' || c == '_' ? c : '_');
                }
                return safe.ToString();
            }

            private static void AppendTypePath(StringBuilder builder, INamedTypeSymbol type, char separator)
            {
                if (type.ContainingType is not null)
                {
                    AppendTypePath(builder, type.ContainingType, separator);
                    builder.Append(separator);
                }
                builder.Append(type.Name);
            }

            private static string EscapeQualifiedName(string name)
            {
                string[] parts = name.Split('.');
                for (int i = 0; i < parts.Length; i++)
                {
                    parts[i] = EscapeIdentifier(parts[i].StartsWith("@", StringComparison.Ordinal) ? parts[i].Substring(1) : parts[i]);
                }
                return string.Join(".", parts);
            }

            internal static string EscapeIdentifier(string name) =>
                SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
        }
    }
}
