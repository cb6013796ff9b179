using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace PagePool.Analyzers.Attribute;

/// <summary>
/// Finds the attribute argument a rule error is about, by the argument names <see cref="PagePool.Shared.PagePoolRules"/>
/// uses (the constructor's parameter names and the attribute's property names).
/// </summary>
internal static class ArgumentLocator
{
    public static Location Find(AttributeData attribute, AttributeSyntax attributeSyntax, string argumentName)
    {
        // A rule can fail on an argument the user left at its default (RefillBatch 64 against CacheSize = 32):
        // the diagnostic then goes on the written argument that makes the default wrong.
        AttributeArgumentSyntax? argument =
            FindWritten(attribute, attributeSyntax, argumentName) ??
            argumentName switch
            {
                "RefillBatch" => FindWritten(attribute, attributeSyntax, "CacheSize"),
                "Headroom" => FindWritten(attribute, attributeSyntax, "pageSize"),
                "MaxLength" => FindWritten(attribute, attributeSyntax, "Headroom") ?? FindWritten(attribute, attributeSyntax, "pageSize"),
                _ => null,
            };

        return argument?.GetLocation() ?? attributeSyntax.GetLocation();
    }

    private static AttributeArgumentSyntax? FindWritten(AttributeData attribute, AttributeSyntax attributeSyntax, string name)
    {
        if (attributeSyntax.ArgumentList is not { } list)
        {
            return null;
        }

        var parameters = attribute.AttributeConstructor?.Parameters ?? default;
        int position = 0;
        foreach (AttributeArgumentSyntax argument in list.Arguments)
        {
            string? argumentName;
            if (argument.NameEquals is { } nameEquals)
            {
                argumentName = nameEquals.Name.Identifier.ValueText;
            }
            else
            {
                // A constructor argument: named with a colon (possibly out of order), or by its position.
                argumentName = argument.NameColon?.Name.Identifier.ValueText ??
                    (!parameters.IsDefault && position < parameters.Length ? parameters[position].Name : null);
                position++;
            }

            if (argumentName == name)
            {
                return argument;
            }
        }

        return null;
    }
}
