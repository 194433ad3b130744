# tclsh stand-in for the Vitis HLS commands fpgagen's generated run_hls.tcl uses.
#
#   tclsh vitis_hls_stub.tcl LOG SCRIPT
#
# defines the commands, then sources SCRIPT. Every call is appended to LOG as one Tcl list
# (command name, then its arguments). A command Vitis HLS does not have, an option the command
# does not take, a bad option value, a missing file or a command out of order (e.g. csim_design
# before open_solution, cosim_design before csynth_design) is an error: tclsh exits non-zero
# with the message on stderr.

if {[llength $argv] != 2} {
    puts stderr "usage: tclsh vitis_hls_stub.tcl LOG SCRIPT"
    exit 2
}
set ::stub_log [file normalize [lindex $argv 0]]
set ::stub_script [file normalize [lindex $argv 1]]
set argv {}
set argc 0
set ::stub_project ""
set ::stub_solution ""
set ::stub_synthesized 0

proc stub_record {cmd args} {
    set f [open $::stub_log a]
    puts $f [linsert $args 0 $cmd]
    close $f
}

# Parse ARGS of CMD against SPEC (option -> 0 for a flag, 1 for an option with a value) and
# MIN/MAX positional arguments (MAX -1: unlimited). Returns {options positionals}.
proc stub_parse {cmd spec min max arglist} {
    set opts [dict create]
    set pos {}
    for {set i 0} {$i < [llength $arglist]} {incr i} {
        set a [lindex $arglist $i]
        if {[string index $a 0] eq "-" && ![string is double -strict $a]} {
            if {![dict exists $spec $a]} {
                set allowed [lsort [dict keys $spec]]
                error "vitis_hls stub: $cmd: unknown option '$a' (allowed: $allowed)"
            }
            if {[dict get $spec $a]} {
                incr i
                if {$i >= [llength $arglist]} {
                    error "vitis_hls stub: $cmd: option '$a' needs a value"
                }
                dict set opts $a [lindex $arglist $i]
            } else {
                dict set opts $a 1
            }
        } else {
            lappend pos $a
        }
    }
    if {[llength $pos] < $min || ($max >= 0 && [llength $pos] > $max)} {
        error "vitis_hls stub: $cmd: expected $min..$max positional arguments, got [llength $pos]: $pos"
    }
    return [list $opts $pos]
}

proc stub_choice {cmd opts opt allowed} {
    if {[dict exists $opts $opt] && [lsearch -exact $allowed [dict get $opts $opt]] < 0} {
        error "vitis_hls stub: $cmd: $opt '[dict get $opts $opt]' is not one of: $allowed"
    }
}

proc stub_need_project {cmd} {
    if {$::stub_project eq ""} { error "vitis_hls stub: $cmd before open_project" }
}

proc stub_need_solution {cmd} {
    stub_need_project $cmd
    if {$::stub_solution eq ""} { error "vitis_hls stub: $cmd before open_solution" }
}

proc open_project {args} {
    lassign [stub_parse open_project {-reset 0 -upgrade 0} 1 1 $args] opts pos
    set ::stub_project [lindex $pos 0]
    set ::stub_solution ""
    stub_record open_project {*}$args
}

proc set_top {args} {
    lassign [stub_parse set_top {} 1 1 $args] opts pos
    stub_need_project set_top
    stub_record set_top {*}$args
}

proc add_files {args} {
    lassign [stub_parse add_files {-tb 0 -cflags 1 -csimflags 1 -blackbox 1} 1 -1 $args] opts pos
    stub_need_project add_files
    foreach f $pos {
        if {![file exists $f]} { error "vitis_hls stub: add_files: no such file '$f' (in [pwd])" }
    }
    stub_record add_files {*}$args
}

proc open_solution {args} {
    lassign [stub_parse open_solution {-reset 0 -flow_target 1} 1 1 $args] opts pos
    stub_choice open_solution $opts -flow_target {vivado vitis}
    stub_need_project open_solution
    set ::stub_solution [lindex $pos 0]
    set ::stub_synthesized 0
    stub_record open_solution {*}$args
}

proc set_part {args} {
    lassign [stub_parse set_part {-tool 1} 1 1 $args] opts pos
    stub_need_solution set_part
    stub_record set_part {*}$args
}

proc create_clock {args} {
    lassign [stub_parse create_clock {-period 1 -name 1} 0 0 $args] opts pos
    stub_need_solution create_clock
    if {![dict exists $opts -period]} { error "vitis_hls stub: create_clock: -period is required" }
    set p [dict get $opts -period]
    if {![string is double -strict $p] || $p <= 0} {
        error "vitis_hls stub: create_clock: -period '$p' is not a positive number (ns)"
    }
    stub_record create_clock {*}$args
}

proc csim_design {args} {
    lassign [stub_parse csim_design {-argv 1 -clean 0 -O 0 -ldflags 1 -mflags 1 -setup 0 -profile 0} 0 0 $args] opts pos
    stub_need_solution csim_design
    stub_record csim_design {*}$args
}

proc csynth_design {args} {
    lassign [stub_parse csynth_design {-synthesis_check 0 -dump_cfg 0 -dump_post_cfg 0} 0 0 $args] opts pos
    stub_need_solution csynth_design
    set ::stub_synthesized 1
    stub_record csynth_design {*}$args
}

proc cosim_design {args} {
    lassign [stub_parse cosim_design {-rtl 1 -argv 1 -trace_level 1 -tool 1 -wave_debug 0 -O 0 -ldflags 1 -setup 0 -enable_dataflow_profiling 0} 0 0 $args] opts pos
    stub_choice cosim_design $opts -rtl {verilog vhdl}
    stub_choice cosim_design $opts -trace_level {none all port port_hier}
    stub_need_solution cosim_design
    if {!$::stub_synthesized} { error "vitis_hls stub: cosim_design before csynth_design" }
    stub_record cosim_design {*}$args
}

proc export_design {args} {
    lassign [stub_parse export_design {-format 1 -rtl 1 -vendor 1 -library 1 -version 1 -display_name 1 -description 1 -ipname 1 -taxonomy 1 -flow 1 -output 1} 0 0 $args] opts pos
    stub_choice export_design $opts -format {ip_catalog xo syn_dcp sysgen}
    stub_choice export_design $opts -rtl {verilog vhdl}
    stub_choice export_design $opts -flow {none syn impl}
    if {[dict exists $opts -version] && ![regexp {^[0-9]+\.[0-9]+$} [dict get $opts -version]]} {
        error "vitis_hls stub: export_design: -version must look like 1.0"
    }
    stub_need_solution export_design
    if {!$::stub_synthesized} { error "vitis_hls stub: export_design before csynth_design" }
    stub_record export_design {*}$args
}

proc close_solution {args} {
    stub_parse close_solution {} 0 0 $args
    stub_need_solution close_solution
    set ::stub_solution ""
    stub_record close_solution
}

proc close_project {args} {
    stub_parse close_project {} 0 0 $args
    stub_need_project close_project
    set ::stub_project ""
    set ::stub_solution ""
    stub_record close_project
}

rename exit stub_real_exit
proc exit {{code 0}} {
    stub_record exit $code
    stub_real_exit $code
}

# anything else is not a Vitis HLS command this stub knows: fail loudly
rename unknown stub_tcl_unknown
proc unknown {args} {
    error "vitis_hls stub: unknown command '[lindex $args 0]'"
}

source $::stub_script
