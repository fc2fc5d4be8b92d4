@corruption
Feature: Corruption — damage is detected, never silently skipped or overwritten
  Every record carries a checksum. A record cut short by a crash at the very end of the log is
  an unfinished write: it is cut off with a warning. Damage anywhere else means the file was
  altered after it was written: the server refuses to start and leaves the file as it is.

  Scenario: every record and every article checksum verifies
    Given a running Lithair server
    When I create 100 articles
    Then every record of the events.raftlog file is valid
    And every article checksum in the events.raftlog file is valid
    And every article's checksum is valid over HTTP

  Scenario: a damaged byte in the middle of the log stops the server from starting
    Given a running Lithair server
    And I have created 100 articles
    When I stop the server
    And a byte in the middle of the events.raftlog file is damaged
    Then the server refuses to start
    And the error names the file, the byte offset of the damage and the last good sequence number
    And the events.raftlog file is unchanged

  Scenario: a last record cut in half is repaired on restart, and the next write survives
    Given a running Lithair server
    And I have created 100 articles
    When I stop the server
    And the last record of the events.raftlog file is cut in half
    Then the events.raftlog file has a torn last record
    When I start the server again
    Then the server reports 99 active articles
    And the server log warns that a torn record was cut off
    When I create 1 article
    And I restart the server
    Then the server reports 100 active articles
    And every record of the events.raftlog file is valid

  Scenario Outline: a record <shape> in the middle of the log stops the server from starting
    Every checksum still verifies: only the sequence numbers and timestamps tell that the log
    was altered, and they must be checked as strictly as the checksums.
    Given a running Lithair server
    And I have created 20 articles
    When I stop the server
    And a record in the middle of the events.raftlog file is <shape>
    Then the server refuses to start
    And the error names the file, the byte offset of the damage and the last good sequence number
    And the events.raftlog file is unchanged

    Examples:
      | shape                      |
      | removed                    |
      | duplicated                 |
      | swapped with the next one  |
      | given an earlier timestamp |

  Scenario: a log that lost records a snapshot was taken after stops the server from starting
    Given a running Lithair server taking a snapshot every 100 events
    And I have created 300 articles
    When I stop the server
    And the events.raftlog file loses its last 150 records
    Then the server refuses to start
    And the error names the file, the byte offset of the damage and the last good sequence number
    And the events.raftlog file is unchanged
