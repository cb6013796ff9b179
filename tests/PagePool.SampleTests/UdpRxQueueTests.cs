using System;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading.Tasks;

namespace PagePool.SampleTests;

/// <summary>
/// The UDP receive queue sample, run for real on loopback: datagrams flow through [PagePool] pages, the processing
/// thread recycles them through the ring, nothing is allocated while receiving, and every page is back at exit.
/// </summary>
public sealed class UdpRxQueueTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static JsonElement LastJsonLine(SampleProcess.Result result)
    {
        string? line = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .LastOrDefault();
        Assert.False(string.IsNullOrEmpty(line), $"no JSON line:\n{result}");
        Assert.StartsWith("{", line);
        return JsonDocument.Parse(line!).RootElement;
    }

    [Fact]
    public async Task Receives_without_allocating_and_returns_every_page()
    {
        SampleProcess.Result result = await SampleProcess.RunAsync("UdpRxQueue", Timeout, "--seconds", "2", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        JsonElement json = LastJsonLine(result);

        Assert.True(json.GetProperty("datagrams").GetInt64() > 0, result.ToString());
        Assert.True(json.GetProperty("validDatagrams").GetInt64() > 0, result.ToString());
        // The default transport is io_uring where the kernel allows it, and CI's does.
        Assert.Equal("io_uring", json.GetProperty("transport").GetString());
        Assert.Equal(0, json.GetProperty("invalidDatagrams").GetInt64());
        Assert.True(json.GetProperty("bytes").GetInt64() > 0);
        Assert.Equal(0, json.GetProperty("pagesInUse").GetInt64());
        Assert.Equal(0, json.GetProperty("gen0Collections").GetInt32());
        // The receive and processing threads allocate nothing once warm: pages are recycled, not allocated.
        Assert.Equal(0, json.GetProperty("allocatedBytes").GetInt64());

        JsonElement stats = json.GetProperty("stats");
        Assert.Equal(0, stats.GetProperty("pagesInUse").GetInt64());
        Assert.True(stats.GetProperty("allocFast").GetInt64() > 0, "the owner cache served allocations");
        Assert.True(stats.GetProperty("recycleRing").GetInt64() > 0, "the processing thread recycled through the ring");
        Assert.True(stats.GetProperty("pagesCreated").GetInt64() <= 1024, "never more pages than PoolSize");
        // Every page handed out came back: allocations = recycles (cache + ring + released).
        long allocs = stats.GetProperty("allocFast").GetInt64() + stats.GetProperty("allocRefill").GetInt64()
                      + stats.GetProperty("allocSlow").GetInt64();
        long recycles = stats.GetProperty("recycleCached").GetInt64() + stats.GetProperty("recycleRing").GetInt64()
                        + stats.GetProperty("recycleRingFull").GetInt64();
        Assert.Equal(allocs, recycles);
    }

    [Fact]
    public async Task Without_traffic_it_receives_nothing_and_exits_clean()
    {
        SampleProcess.Result result = await SampleProcess.RunAsync("UdpRxQueue", Timeout,
            "--listen", "127.0.0.1:0", "--no-sender", "--seconds", "1", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        JsonElement json = LastJsonLine(result);
        Assert.Equal(0, json.GetProperty("datagrams").GetInt64());
        Assert.Equal(0, json.GetProperty("pagesInUse").GetInt64());
    }

    [Fact]
    public async Task Sigterm_ends_the_run_cleanly()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // the signal is sent with libc's kill
        }
        using System.Diagnostics.Process process = SampleProcess.Start("UdpRxQueue", "--seconds", "60", "--json");
        // Wait until it is receiving (its first live line), then ask it to stop.
        string? line = await process.StandardError.ReadLineAsync();
        Assert.NotNull(line);
        line = await process.StandardError.ReadLineAsync();
        Assert.NotNull(line);
        Assert.Equal(0, Kill(process.Id, 15));
        SampleProcess.Result result = await SampleProcess.CollectAsync(process, Timeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        JsonElement json = LastJsonLine(result);
        Assert.True(json.GetProperty("seconds").GetDouble() < 50, "it stopped on the signal, not at the end of the run");
        Assert.Equal(0, json.GetProperty("pagesInUse").GetInt64());
    }

    [Theory]
    [InlineData("io_uring")]
    [InlineData("recvmmsg")]
    [InlineData("socket")]
    public async Task Each_transport_receives_valid_datagrams_and_says_which_it_used(string transport)
    {
        SampleProcess.Result result = await SampleProcess.RunAsync("UdpRxQueue", Timeout,
            "--transport", transport, "--seconds", "1", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        JsonElement json = LastJsonLine(result);
        Assert.Equal(transport, json.GetProperty("transport").GetString());
        Assert.True(json.GetProperty("validDatagrams").GetInt64() > 0, result.ToString());
        Assert.Equal(0, json.GetProperty("invalidDatagrams").GetInt64());
        Assert.Equal(0, json.GetProperty("pagesInUse").GetInt64());
        Assert.True(json.GetProperty("cpuNsPerPacket").GetDouble() > 0, result.ToString());
        Assert.True(json.GetProperty("p50LatencyUs").GetDouble() >= 0, result.ToString());
    }

    [Fact]
    public async Task Compare_transports_prints_one_json_line_per_transport()
    {
        SampleProcess.Result result = await SampleProcess.RunAsync("UdpRxQueue", Timeout,
            "--compare-transports", "--seconds", "1", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        string[] lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(new[] { "io_uring", "recvmmsg", "socket" },
            lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("transport").GetString()).ToArray());
        foreach (string line in lines)
        {
            JsonElement json = JsonDocument.Parse(line).RootElement;
            foreach (string key in new[] { "packetsPerSecond", "cpuNsPerPacket", "allocatedBytes", "gen0Collections",
                                           "p50LatencyUs", "p99LatencyUs", "p999LatencyUs" })
            {
                Assert.True(json.TryGetProperty(key, out _), $"{key} missing in {line}");
            }
            Assert.True(json.GetProperty("packetsPerSecond").GetDouble() > 0, line);
        }
        // Pages, not arrays: the io_uring and recvmmsg receivers allocate nothing per packet.
        Assert.Equal(0, JsonDocument.Parse(lines[0]).RootElement.GetProperty("allocatedBytes").GetInt64());
        Assert.Contains("| transport |", result.StandardError);
    }

    [Fact]
    public async Task An_unknown_transport_is_a_usage_error()
    {
        SampleProcess.Result result = await SampleProcess.RunAsync("UdpRxQueue", Timeout, "--transport", "rio");
        Assert.Equal(64, result.ExitCode);
        Assert.Contains("io_uring, recvmmsg or socket", result.StandardError);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
