using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using PagePool.Generators.Model;

namespace PagePool.Generators
{
    /// <summary>
    /// Writes each <c>[PagePool(pageSize, poolSize, ...)]</c> class's pool into the class itself, with every
    /// argument folded into constants. Invalid uses generate nothing: the PagePool analyzers report them.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed partial class PagePoolGenerator : IIncrementalGenerator
    {
        /// <summary>The attribute's metadata name: matched by name, the generator does not reference the runtime.</summary>
        internal const string AttributeMetadataName = "PagePool.PagePoolAttribute";

        /// <summary>Tracking names of the pipeline's steps, for the incremental caching tests.</summary>
        internal static class StepNames
        {
            public const string Models = "PagePoolModels";
            public const string ValidModels = "PagePoolValidModels";
            public const string AllModels = "PagePoolAllModels";
        }

        /// <inheritdoc/>
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            // Symbols -> model in the transform; nothing that holds a symbol, a node or the compilation leaves it.
            IncrementalValuesProvider<PagePoolModel?> models = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    AttributeMetadataName,
                    static (node, _) => Parser.IsCandidate(node),
                    static (ctx, cancellationToken) => Parser.Parse(ctx, cancellationToken))
                .WithTrackingName(StepNames.Models);

            IncrementalValuesProvider<PagePoolModel> valid = models
                .Where(static model => model is not null)
                .Select(static (model, _) => model!)
                .WithTrackingName(StepNames.ValidModels);

            // Collected so hint names can be made unique across the whole compilation (types whose names differ
            // only in case would otherwise collide); the array compares by element, so it stays cached.
            IncrementalValueProvider<EquatableArray<PagePoolModel>> all = valid
                .Collect()
                .Select(static (items, _) => new EquatableArray<PagePoolModel>(items))
                .WithTrackingName(StepNames.AllModels);

            context.RegisterSourceOutput(all, static (spc, pools) => Emitter.EmitAll(spc, pools));
        }
    }
}
