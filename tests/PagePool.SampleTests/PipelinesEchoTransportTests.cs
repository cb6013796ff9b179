using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;

namespace PagePool.SampleTests;

/// <summary>
/// The echo sample's transports on real loopback connections: the io_uring self-test verifies every byte over many
/// connections with a receive pool that stays within its size, and the comparison runs all three transports against
/// a client process. CI has io_uring: a run that falls back to another transport fails here.
/// </summary>
public sealed class PipelinesEchoTransportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static List<JsonElement> JsonLines(SampleProcess.Result result) =>
        result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith('{'))
            .Select(line => JsonDocument.Parse(line).RootElement)
            .ToList();

    [Fact]
    public async Task Io_uring_self_test_over_many_connections_verifies_every_byte_within_the_pool()
    {
        SampleProcess.Result result = await SampleProcess.RunAsync("PipelinesEcho", Timeout,
            "--self-test", "--transport", "io_uring", "--connections", "300", "--megabytes", "16", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("note:", result.StandardError);
        JsonElement json = Assert.Single(JsonLines(result));
        Assert.Equal("io_uring", json.GetProperty("transport").GetString());
        Assert.Equal(300, json.GetProperty("connections").GetInt32());
        long sent = json.GetProperty("sentBytes").GetInt64();
        Assert.Equal(16L * 1024 * 1024 / 300 * 300, sent);
        Assert.Equal(sent, json.GetProperty("echoedBytes").GetInt64());
        Assert.Equal(sent, json.GetProperty("verifiedBytes").GetInt64());
        Assert.Equal(0, json.GetProperty("mismatches").GetInt64());
        Assert.Equal(0, json.GetProperty("pagesInUse").GetInt32());
        long reserved = json.GetProperty("bytesReserved").GetInt64();
        Assert.InRange(reserved, 1, json.GetProperty("poolBytes").GetInt64()); // memory follows the pool, not the connections
        Assert.True(json.GetProperty("passed").GetBoolean());
    }

    [Fact]
    public async Task Compare_transports_runs_all_three_against_a_client_process()
    {
        SampleProcess.Result result = await SampleProcess.RunAsync("PipelinesEcho", Timeout,
            "--compare-transports", "--connections", "50", "--seconds", "0.5", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("note:", result.StandardError);
        List<JsonElement> lines = JsonLines(result);
        Assert.Equal(new[] { "io_uring", "socket", "zero-byte" }, lines.Select(l => l.GetProperty("transport").GetString()));
        foreach (JsonElement line in lines)
        {
            Assert.Equal(50, line.GetProperty("connections").GetInt32());
            Assert.True(line.GetProperty("messagesPerSecond").GetDouble() > 0, result.ToString());
            Assert.True(line.GetProperty("cpuNsPerMessage").GetDouble() > 0, result.ToString());
            Assert.Equal(0, line.GetProperty("clientErrors").GetInt64());
            Assert.True(line.TryGetProperty("gen0Collections", out _));
        }
        // The socket transport holds a buffer per connection; io_uring holds at most its pool.
        Assert.Equal(50L * 4096, lines[1].GetProperty("bufferBytes").GetInt64());
        Assert.InRange(lines[0].GetProperty("bufferBytes").GetInt64(), 1, 256L * 4096);
    }
}
