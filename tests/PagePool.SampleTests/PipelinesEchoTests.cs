using System;
using System.Threading.Tasks;

namespace PagePool.SampleTests;

/// <summary>The Pipelines echo self-test in a small size: every byte verified, every page back in the pool.</summary>
public sealed class PipelinesEchoTests
{
    [Fact]
    public async Task Self_test_verifies_every_byte_and_returns_every_page()
    {
        SampleProcess.Result result = await SampleProcess.RunAsync("PipelinesEcho", TimeSpan.FromSeconds(120),
            "--self-test", "--megabytes", "16", "--connections", "2");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("PASS: every byte verified (33,554,432 in all), every page returned", result.StandardOutput);
        Assert.Contains("pages in use after the PagePool run: 0;", result.StandardOutput);
        Assert.Matches(@"\| PagePool \(AsMemoryPool\)\s+\|\s+[\d.]+ \|\s+16,777,216 \|\s+0 \|", result.StandardOutput);
    }
}
