@power-loss
Feature: Power loss never takes an acknowledged write in fsync mode
  A crash of the process keeps what the server handed to the operating system; a power cut
  does not. Here the server runs on a disk that can lose power: the harness records what the
  disk would really hold (only what was fdatasynced) and, when the power fails, rewrites the
  data directory to exactly that. In fsync mode nothing acknowledged may be lost. Flush and
  async modes never sync the log while running, so they lose what was written since the last
  clean stop or snapshot: the scenarios measure it and check only what those modes promise,
  that a cut loses the newest writes and never a write in the middle.

  Scenario: A hundred articles survive a power cut in fsync mode
    Given a running Lithair server with fsync durability on a disk that can lose power
    When I create 100 articles
    And the power fails
    And I start the server again
    Then all 100 articles are present with identical content
    And every record of the events.raftlog file is valid

  Scenario: A torn page at the power cut is cut off, and nothing acknowledged is lost
    Given a running Lithair server with fsync durability on a disk that can lose power
    When I create 50 articles
    And the power fails mid-write
    And I start the server again
    Then all 50 articles are present with identical content
    And every record of the events.raftlog file is valid

  Scenario: In fsync mode, power cuts under full write load lose no acknowledged write
    Given a running Lithair server with fsync durability on a disk that can lose power
    When the power fails at a random moment under full write load, 5 times over
    Then no acknowledged write was lost to a power cut
    And the log was valid after every power cut
    And every acknowledged write is present
    And only writes in flight at a crash can be unaccounted for

  Scenario Outline: In <mode> mode, a power cut loses the writes since the last sync
    Given a running Lithair server with <mode> durability on a disk that can lose power
    When the power fails at a random moment under full write load, 5 times over
    Then a power cut only ever lost the newest acknowledged writes
    And the log was valid after every power cut
    And only writes in flight at a crash can be unaccounted for

    Examples:
      | mode  |
      | flush |
      | async |

  Scenario Outline: In <mode> mode, a power cut right after a snapshot never restarts from a snapshot the disk lost
    Given a running Lithair server with <mode> durability taking a snapshot every 500 events on a disk that can lose power
    When the power fails right after a snapshot is taken, 4 times over
    Then no restart used a snapshot the disk did not durably hold
    And <promise>
    And the log was valid after every power cut
    And the articles served match a replay of the events.raftlog file
    And every acknowledged write is present

    Examples:
      | mode  | promise                                                   |
      | fsync | no acknowledged write was lost to a power cut             |
      | flush | a power cut only ever lost the newest acknowledged writes |

  Scenario: A failed fdatasync is never acknowledged, and what was acknowledged before survives
    Given a running Lithair server with fsync durability on a disk whose fdatasync number 5 of the log fails
    When I try to create 10 articles one after another
    Then the writes from the failing disk on were refused with 503
    And the health check answers 503 unavailable
    When the power fails
    And I start the server again
    Then every acknowledged write is present
    And only writes in flight at a crash can be unaccounted for

  Scenario: A write refused after a failed fdatasync does not come back when the server restarts
    Given a running Lithair server with fsync durability on a disk whose fdatasync number 5 of the log fails
    When I try to create 10 articles one after another
    Then the writes from the failing disk on were refused with 503
    When the server crashes
    And I start the server again
    Then none of the refused writes is present
    And every acknowledged write is present
    And the health counters match what was written

  Scenario: A full disk refuses writes with 503, keeps serving reads, and replays no partial record
    Given a running Lithair server with fsync durability on a disk that fills up after 1000 bytes of log
    When I try to create 10 articles one after another
    Then the writes from the failing disk on were refused with 503
    And every acknowledged write is present
    When the power fails
    And I start the server again
    Then every acknowledged write is present
    And only writes in flight at a crash can be unaccounted for
    And the articles served match a replay of the events.raftlog file

  @slow
  Scenario Outline: Many power cuts under full write load, <mode> mode, <writers> writers
    Given a running Lithair server with <mode> durability on a disk that can lose power
    When the power fails at a random moment under full write load from <writers> writers, <cuts> times over
    Then <promise>
    And the log was valid after every power cut
    And only writes in flight at a crash can be unaccounted for

    Examples:
      | mode  | writers | cuts | promise                                                   |
      | fsync | 4       | 50   | no acknowledged write was lost to a power cut             |
      | fsync | 16      | 50   | no acknowledged write was lost to a power cut             |
      | fsync | 64      | 50   | no acknowledged write was lost to a power cut             |
      | flush | 16      | 30   | a power cut only ever lost the newest acknowledged writes |
      | async | 16      | 30   | a power cut only ever lost the newest acknowledged writes |
