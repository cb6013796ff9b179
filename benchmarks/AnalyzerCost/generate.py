#!/usr/bin/env python3
"""Writes two equivalent driver-like C# projects for the analyzer cost benchmark.

pages/      receive queues that take pages from PagePool's RuntimePagePool and recycle them
            (AllocPage, TryAllocPage, RecyclePage, RecyclePageDirect, hand-offs into rings), plus
            [PagePool] declarations, so both PagePool analyzers have work;
disposable/ the same code with an IDisposable buffer rented from a pool and disposed, for CA2000.

The code is never run; it only has to be realistic for flow analysis: loops, early exits, try/finally,
ownership transfers into fields and arrays, helper calls. Deterministic (fixed seed).
"""
import os
import random
import sys

UNITS_PER_FILE = 8


def pages_unit(i, rnd):
    page = 256 << rnd.randrange(0, 5)
    cache = 32 << rnd.randrange(0, 3)
    return f'''
[PagePool({page}, {1024 << rnd.randrange(0, 3)}, CacheSize = {cache}, RefillBatch = {cache // 2}, Headroom = {rnd.choice([0, 64, 128])})]
internal sealed partial class RxQueue{i}Declared
{{
    partial void OnPageCreated(Page page);
}}

internal sealed class RxQueue{i}
{{
    private readonly RuntimePagePool _pool;
    private readonly Page[] _ring = new Page[256];
    private int _head;
    private int _tail;
    private long _bytes;
    private long _drops;

    public RxQueue{i}(RuntimePagePool pool) => _pool = pool;

    public int Poll(ReadOnlySpan<byte> wire, int budget)
    {{
        int done = 0;
        while (done < budget)
        {{
            if (!_pool.TryAllocPage(out Page page))
            {{
                _drops++;
                break;
            }}

            int length = Math.Min(wire.Length, page.Length);
            wire.Slice(0, length).CopyTo(page.Span);
            if (length == 0)
            {{
                _pool.RecyclePage(page);
            }}
            else
            {{
                Deliver(page, length);
            }}

            done++;
        }}

        return done;
    }}

    private bool Deliver([Owned] Page page, int length)
    {{
        if (length == 0 || _tail - _head == _ring.Length)
        {{
            _pool.RecyclePage(page);
            return true;
        }}

        _ring[_tail++ & 255] = page;
        _bytes += length;
        return true;
    }}

    public long Drain()
    {{
        long sum = 0;
        while (_head != _tail)
        {{
            Page page = _ring[_head++ & 255];
            sum += Checksum(page.Span);
            _pool.RecyclePageDirect(page);
        }}

        return sum;
    }}

    public int Copy(ReadOnlySpan<byte> source)
    {{
        Page page = _pool.AllocPage();
        try
        {{
            int length = Math.Min(source.Length, page.Length);
            source.Slice(0, length).CopyTo(page.Span);
            return Checksum(page.Span.Slice(0, length));
        }}
        finally
        {{
            _pool.RecyclePage(page);
        }}
    }}

    public int Split(ReadOnlySpan<byte> source, int chunk)
    {{
        int pieces = 0;
        for (int offset = 0; offset < source.Length; offset += chunk)
        {{
            Page page = _pool.AllocPage();
            int length = Math.Min(chunk, source.Length - offset);
            source.Slice(offset, length).CopyTo(page.Span);
            if (length < {page // 4})
            {{
                _pool.RecyclePage(page);
                continue;
            }}

            if (!Deliver(page, length))
            {{
                return pieces;
            }}

            pieces++;
        }}

        return pieces;
    }}

    public Page Lend()
    {{
        Page page = _pool.AllocPage();
        page.Span.Clear();
        return page;
    }}

    public void Give([Owned] Page page, bool keep)
    {{
        if (keep)
        {{
            _ring[_tail++ & 255] = page;
        }}
        else
        {{
            _pool.RecyclePage(page);
        }}
    }}

    public string Describe() => "queue {i}: " + _bytes + " bytes, " + _drops + " drops, " + _pool.PagesInUse + " in use";

    private static int Checksum(ReadOnlySpan<byte> data)
    {{
        int sum = 0;
        foreach (byte b in data)
        {{
            sum = (sum * 31) + b;
        }}

        return sum;
    }}
}}
'''


def disposable_unit(i, rnd):
    size = 256 << rnd.randrange(0, 5)
    return f'''
internal sealed class RxQueue{i}Declared
{{
    public const int BufferSize = {size};
}}

internal sealed class RxQueue{i}
{{
    private readonly BufferPool _pool;
    private readonly RxBuffer?[] _ring = new RxBuffer?[256];
    private int _head;
    private int _tail;
    private long _bytes;
    private long _drops;

    public RxQueue{i}(BufferPool pool) => _pool = pool;

    public int Poll(ReadOnlySpan<byte> wire, int budget)
    {{
        int done = 0;
        while (done < budget)
        {{
            var buffer = new RxBuffer(_pool, {size});
            if (!buffer.IsValid)
            {{
                buffer.Dispose();
                _drops++;
                break;
            }}

            int length = Math.Min(wire.Length, buffer.Length);
            wire.Slice(0, length).CopyTo(buffer.Span);
            if (length == 0)
            {{
                buffer.Dispose();
            }}
            else
            {{
                Deliver(buffer, length);
            }}

            done++;
        }}

        return done;
    }}

    private bool Deliver(RxBuffer buffer, int length)
    {{
        if (length == 0 || _tail - _head == _ring.Length)
        {{
            buffer.Dispose();
            return true;
        }}

        _ring[_tail++ & 255] = buffer;
        _bytes += length;
        return true;
    }}

    public long Drain()
    {{
        long sum = 0;
        while (_head != _tail)
        {{
            RxBuffer? buffer = _ring[_head++ & 255];
            if (buffer is null)
            {{
                continue;
            }}

            sum += Checksum(buffer.Span);
            buffer.Dispose();
        }}

        return sum;
    }}

    public int Copy(ReadOnlySpan<byte> source)
    {{
        var buffer = new RxBuffer(_pool, {size});
        try
        {{
            int length = Math.Min(source.Length, buffer.Length);
            source.Slice(0, length).CopyTo(buffer.Span);
            return Checksum(buffer.Span.Slice(0, length));
        }}
        finally
        {{
            buffer.Dispose();
        }}
    }}

    public int Split(ReadOnlySpan<byte> source, int chunk)
    {{
        int pieces = 0;
        for (int offset = 0; offset < source.Length; offset += chunk)
        {{
            var buffer = new RxBuffer(_pool, {size});
            int length = Math.Min(chunk, source.Length - offset);
            source.Slice(offset, length).CopyTo(buffer.Span);
            if (length < {size // 4})
            {{
                buffer.Dispose();
                continue;
            }}

            if (!Deliver(buffer, length))
            {{
                return pieces;
            }}

            pieces++;
        }}

        return pieces;
    }}

    public RxBuffer Lend()
    {{
        var buffer = new RxBuffer(_pool, {size});
        buffer.Span.Clear();
        return buffer;
    }}

    public void Give(RxBuffer buffer, bool keep)
    {{
        if (keep)
        {{
            _ring[_tail++ & 255] = buffer;
        }}
        else
        {{
            buffer.Dispose();
        }}
    }}

    public string Describe() => "queue {i}: " + _bytes + " bytes, " + _drops + " drops, " + _pool.InUse + " in use";

    private static int Checksum(ReadOnlySpan<byte> data)
    {{
        int sum = 0;
        foreach (byte b in data)
        {{
            sum = (sum * 31) + b;
        }}

        return sum;
    }}
}}
'''


DISPOSABLE_SUPPORT = '''using System;
using System.Buffers;

namespace Bench.Drivers;

/// <summary>The IDisposable stand-in for a page: a pooled array returned on Dispose.</summary>
public sealed class RxBuffer : IDisposable
{
    private readonly BufferPool _pool;
    private byte[]? _array;

    public RxBuffer(BufferPool pool, int size)
    {
        _pool = pool;
        _array = pool.TryRent(size);
    }

    public bool IsValid => _array is not null;

    public int Length => _array?.Length ?? 0;

    public Span<byte> Span => _array;

    public void Dispose()
    {
        if (_array is { } array)
        {
            _array = null;
            _pool.Return(array);
        }
    }
}

public sealed class BufferPool
{
    private int _inUse;

    public int InUse => _inUse;

    public byte[]? TryRent(int size)
    {
        _inUse++;
        return ArrayPool<byte>.Shared.Rent(size);
    }

    public void Return(byte[] array)
    {
        _inUse--;
        ArrayPool<byte>.Shared.Return(array);
    }
}
'''


def write_project(root, kind, units, repo):
    os.makedirs(root, exist_ok=True)
    rnd = random.Random(20261125)
    lines = 0
    header = "using System;\nusing PagePool;\n\nnamespace Bench.Drivers;\n" if kind == "pages" else "using System;\n\nnamespace Bench.Drivers;\n"
    for f in range(0, units, UNITS_PER_FILE):
        body = header
        for i in range(f, min(units, f + UNITS_PER_FILE)):
            body += (pages_unit if kind == "pages" else disposable_unit)(i, rnd)
        with open(os.path.join(root, f"Drivers{f // UNITS_PER_FILE:03}.cs"), "w") as out:
            out.write(body)
        lines += body.count("\n")
    if kind == "disposable":
        with open(os.path.join(root, "RxBuffer.cs"), "w") as out:
            out.write(DISPOSABLE_SUPPORT)
        lines += DISPOSABLE_SUPPORT.count("\n")

    common = '''    <TargetFramework>net10.0</TargetFramework>
    <OutputType>Library</OutputType>
    <Nullable>enable</Nullable>
    <ImplicitUsings>disable</ImplicitUsings>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
    <TreatWarningsAsErrors>false</TreatWarningsAsErrors>
    <NoWarn>$(NoWarn);CS1591;CS0414;CS0169</NoWarn>'''
    if kind == "pages":
        refs = f'''  <ItemGroup>
    <ProjectReference Include="{repo}/PagePool.Runtime/PagePool.Runtime.csproj" />
    <ProjectReference Include="{repo}/PagePool.Analyzers/PagePool.Analyzers.csproj" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
  </ItemGroup>
'''
    else:
        refs = ""
    with open(os.path.join(root, f"Bench.{kind}.csproj"), "w") as out:
        out.write(f'''<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
{common}
  </PropertyGroup>
{refs}</Project>
''')
    return lines


def main():
    out_dir, repo = sys.argv[1], sys.argv[2]
    units = int(sys.argv[3]) if len(sys.argv) > 3 else 144
    os.makedirs(out_dir, exist_ok=True)
    # The generated projects must not inherit the repository's build settings (central versions, warnings as errors).
    for name in ("Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props"):
        with open(os.path.join(out_dir, name), "w") as out:
            out.write("<Project />\n")
    with open(os.path.join(out_dir, ".editorconfig"), "w") as out:
        out.write('''root = true

[disposable/**.cs]
# CA2000 with its exception-path analysis: every path, exceptional ones included, is checked.
dotnet_diagnostic.CA2000.severity = warning
dotnet_code_quality.CA2000.dispose_analysis_kind = AllPaths
dotnet_code_quality.CA2000.interprocedural_analysis_kind = ContextSensitive
dotnet_code_quality.CA2000.max_interprocedural_method_call_chain = 3
''')
    for kind in ("pages", "disposable"):
        n = write_project(os.path.join(out_dir, kind), kind, units, repo)
        print(f"{kind}: {n} lines")


if __name__ == "__main__":
    main()
