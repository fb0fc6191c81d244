using CsCheck;
using SeccompKit.Linux.Kernel;
using SeccompKit.Linux.Launch;
using Step = SeccompKit.Linux.Launch.StageWire.Step;

namespace SeccompKit.Linux.Tests.Launch;

/// <summary>
/// The launcher's wire format (<see cref="StageWire"/>): every message kind decodes to what was encoded, and anything that
/// is not an exact encoding - truncated, extended, garbage - is refused with an error that says what is wrong.
/// </summary>
public sealed class StageWireSpecs
{
    private static readonly Gen<Step> Steps = Gen.Enum<Step>();

    /// <summary>A raw program: 1 to 4096 instructions of 8 arbitrary bytes (the wire does not judge instructions).</summary>
    private static readonly Gen<byte[]> Programs = Gen.Int[1, StageWire.MaxInstructions].SelectMany(n => Gen.Byte.Array[8 * n]);

    private static readonly Gen<(SeccompFilterFlags Flags, bool Nnp, byte[] Program)> FilterMessages =
        Gen.Select(Gen.UInt.Select(u => (SeccompFilterFlags)u), Gen.Bool, Programs);

    [Fact]
    public void Every_status_record_decodes_to_its_step_and_value()
    {
        Gen.Select(Steps, Gen.Int).Sample((step, value) =>
        {
            var record = StageWire.EncodeStatus(step, value);
            Assert.Equal(StageWire.StatusSize, record.Length);
            Assert.Equal(new StageWire.Status(step, value), StageWire.DecodeStatus(record));
        });
    }

    [Fact]
    public void Every_filter_message_decodes_to_its_flags_no_new_privs_and_program()
    {
        FilterMessages.Sample(m =>
        {
            var decoded = StageWire.DecodeFilter(StageWire.EncodeFilter(m.Flags, m.Nnp, m.Program));
            Assert.Equal(m.Flags, decoded.Flags);
            Assert.Equal(m.Nnp, decoded.NoNewPrivileges);
            Assert.Equal(m.Program, decoded.Program);
        }, iter: 200);
    }

    [Fact]
    public void A_truncated_or_extended_message_of_either_kind_is_refused()
    {
        Gen.Select(FilterMessages, Gen.Int[0, 100], Gen.Byte.Array[1, 16]).Sample((m, cut, extra) =>
        {
            var message = StageWire.EncodeFilter(m.Flags, m.Nnp, m.Program);
            int keep = (int)((long)message.Length * cut / 101); // strictly shorter
            Assert.Throws<StageProtocolException>(() => StageWire.DecodeFilter(message.AsSpan(0, keep)));
            Assert.Throws<StageProtocolException>(() => StageWire.DecodeFilter([.. message, .. extra]));
        }, iter: 200);
        Gen.Select(Steps, Gen.Int, Gen.Int[0, StageWire.StatusSize - 1], Gen.Byte.Array[1, 16]).Sample((step, value, keep, extra) =>
        {
            var record = StageWire.EncodeStatus(step, value);
            Assert.Throws<StageProtocolException>(() => StageWire.DecodeStatus(record.AsSpan(0, keep)));
            Assert.Throws<StageProtocolException>(() => StageWire.DecodeStatus([.. record, .. extra]));
        });
    }

    [Fact]
    public void Garbage_decodes_only_when_it_is_exactly_an_encoding_and_otherwise_fails_closed()
    {
        // Whatever the bytes: either an error, or a message whose own encoding is those very bytes (nothing is guessed).
        Gen.Byte.Array[0, 64].Sample(bytes =>
        {
            StageWire.Status status;
            try { status = StageWire.DecodeStatus(bytes); }
            catch (StageProtocolException) { return; }
            Assert.Equal(bytes, StageWire.EncodeStatus(status.Step, status.Value));
        });
        Gen.Byte.Array[0, 80].Sample(bytes =>
        {
            StageWire.FilterMessage message;
            try { message = StageWire.DecodeFilter(bytes); }
            catch (StageProtocolException) { return; }
            Assert.Equal(bytes, StageWire.EncodeFilter(message.Flags, message.NoNewPrivileges, message.Program));
        });
    }

    public static TheoryData<string, byte[], string> BadStatusRecords => new()
    {
        { "empty", [], "a status record of 0 bytes (a record has 12)" },
        { "cut short", StageWire.EncodeStatus(Step.Exec, 2)[..7], "a status record of 7 bytes (a record has 12)" },
        { "wrong magic", [.. BitConverter.GetBytes(0x12345678u), .. BitConverter.GetBytes(6u), .. BitConverter.GetBytes(2)], "does not begin with the magic number (0x12345678, not 0x32534b53)" },
        { "unknown step", [.. BitConverter.GetBytes(StageWire.StatusMagic), .. BitConverter.GetBytes(99u), .. BitConverter.GetBytes(0)], "an unknown step 99" },
    };

    [Theory]
    [MemberData(nameof(BadStatusRecords))]
    public void A_bad_status_record_is_refused_saying_what_is_wrong(string what, byte[] record, string message)
    {
        var e = Assert.Throws<StageProtocolException>(() => StageWire.DecodeStatus(record));
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{what}: {e.Message}");
    }

    private static byte[] Header(uint magic, uint flags, uint nnp, uint count) =>
        [.. BitConverter.GetBytes(magic), .. BitConverter.GetBytes(flags), .. BitConverter.GetBytes(nnp), .. BitConverter.GetBytes(count)];

    public static TheoryData<string, byte[], string> BadFilterMessages => new()
    {
        { "shorter than the header", new byte[15], "a filter message of 15 bytes, shorter than its 16-byte header" },
        { "wrong magic", [.. Header(0, 0, 1, 1), .. new byte[8]], "does not begin with the magic number" },
        { "no_new_privs neither 0 nor 1", [.. Header(StageWire.FilterMagic, 0, 2, 1), .. new byte[8]], "no_new_privs word is 2 (0 or 1)" },
        { "no instruction", Header(StageWire.FilterMagic, 0, 1, 0), "announcing 0 instructions (1 to 4096)" },
        { "more than BPF_MAXINSNS", Header(StageWire.FilterMagic, 0, 1, 4097), "announcing 4097 instructions (1 to 4096)" },
        { "one instruction missing", [.. Header(StageWire.FilterMagic, 0, 1, 2), .. new byte[8]], "a filter message of 24 bytes where its header announces 32 (2 instructions)" },
        { "half an instruction more", [.. Header(StageWire.FilterMagic, 0, 1, 1), .. new byte[12]], "a filter message of 28 bytes where its header announces 24 (1 instructions)" },
    };

    [Theory]
    [MemberData(nameof(BadFilterMessages))]
    public void A_bad_filter_message_is_refused_saying_what_is_wrong(string what, byte[] message, string error)
    {
        var e = Assert.Throws<StageProtocolException>(() => StageWire.DecodeFilter(message));
        Assert.True(e.Message.Contains(error, StringComparison.Ordinal), $"{what}: {e.Message}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(12)]
    [InlineData(4097 * 8)]
    public void The_encoder_refuses_a_program_that_is_not_1_to_4096_whole_instructions(int bytes)
    {
        Assert.Throws<ArgumentException>(() => StageWire.EncodeFilter(0, true, new byte[bytes]));
    }
}
