/*
 * The tile-IR text format (.tir). One module per file:
 *
 *   tir 1
 *   module "tiny-gpt2" {
 *     input %input_ids : i64[1,16] <*,y>
 *     weight @wte : f32[512,64] <y,x> = "transformer.wte.weight"
 *     const %c0 : i64[1,16] <*,y> = [0, 1, 2, ...]
 *     %0 = embedding %input_ids, @wte : f32[1,16,64] <*,y,x> loc("node_Gather_3")
 *     layer 0 decoder {heads = 4, ffn = 256} {
 *       %1 = layer_norm %0, @g, @b {eps = 1.0E-5} : f32[1,16,64] <*,y,x>
 *     }
 *     output %logits
 *   }
 *
 * Op names are block ops in lower case (linear, attention …) or ONNX op types (Add, Reshape …);
 * the op registry, not this grammar, decides which exist and what operands they take.
 */
grammar Tir;

module_     : header? 'module' STRING '{' item* '}' EOF ;
header      : 'tir' INT ;

item        : input | weight | constant | op | layer | output ;
input       : 'input' VALUE ':' type ;
weight      : 'weight' WEIGHT ':' type '=' STRING ('perm' intList)? ;
constant    : 'const' VALUE ':' type '=' literal ;
layer       : 'layer' INT IDENT attrDict? '{' op* '}' ;
output      : 'output' VALUE ;

op          : VALUE (',' VALUE)* '=' IDENT (operand (',' operand)*)? attrDict? ':' type (',' type)* loc? ;
operand     : VALUE | WEIGHT ;
loc         : 'loc' '(' STRING (',' STRING)* ')' ;

attrDict    : '{' (attr (',' attr)*)? '}' ;
attr        : IDENT '=' attrValue ;
attrValue   : number | STRING | numberList ;

type        : IDENT '[' (INT (',' INT)*)? ']' '<' (axis (',' axis)*)? '>' ;
axis        : '*' | IDENT ;

literal     : number | numberList ;
numberList  : '[' (number (',' number)*)? ']' ;
intList     : '[' (INT (',' INT)*)? ']' ;
number      : INT | FLOAT ;

VALUE       : '%' (NAME | STRING) ;
WEIGHT      : '@' (NAME | STRING) ;
FLOAT       : '-'? DIGITS '.' DIGITS? EXPONENT?
            | '-'? DIGITS EXPONENT
            | 'NaN'
            | '-'? 'Infinity'
            ;
INT         : '-'? DIGITS ;
IDENT       : [A-Za-z_] [A-Za-z0-9_]* ;
STRING      : '"' (~["\\\r\n] | '\\' ["\\nrt])* '"' ;

COMMENT     : '#' ~[\r\n]* -> skip ;
WS          : [ \t\r\n]+ -> skip ;

fragment NAME     : [A-Za-z0-9_.$/\-]+ ;
fragment DIGITS   : [0-9]+ ;
fragment EXPONENT : [eE] [+\-]? DIGITS ;
