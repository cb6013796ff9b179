using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Threading.Tasks;

namespace PagePool.SampleTests;

/// <summary>Starts a built sample with <c>dotnet</c> and collects its exit code and output.</summary>
internal static class SampleProcess
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StandardOutput}\n--- stderr\n{StandardError}";
    }

    public static string PathOf(string sample)
    {
        string? path = typeof(SampleProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == sample)?.Value;
        Assert.False(path is null, $"no build path recorded for {sample}");
        path = Path.GetFullPath(path!);
        Assert.True(File.Exists(path), $"{sample} is not built at {path}");
        return path;
    }

    public static Process Start(string sample, params string[] args)
    {
        var info = new ProcessStartInfo(DotNetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(PathOf(sample));
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {sample}");
    }

    public static async Task<Result> RunAsync(string sample, TimeSpan timeout, params string[] args)
    {
        using Process process = Start(sample, args);
        return await CollectAsync(process, timeout);
    }

    public static async Task<Result> CollectAsync(Process process, TimeSpan timeout)
    {
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        Task exited = process.WaitForExitAsync();
        if (await Task.WhenAny(exited, Task.Delay(timeout)) != exited)
        {
            process.Kill(entireProcessTree: true);
            await exited;
            Assert.Fail($"the sample did not finish within {timeout}:\n{await stdout}\n{await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    private static string DotNetHost()
    {
        // Set by the .NET SDK for the processes it starts (dotnet test); otherwise the dotnet on the PATH.
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }
        return "dotnet";
    }
}
